using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Auth;

namespace Gateway.Client.Management;

/// <summary>
/// A typed client of the gateway's management API: the three calls of Amazon's <c>@connections</c> API and the
/// gateway's own (topics, users, broadcast, batches, server-side subscriptions). It authenticates with an API key or
/// signs with Signature Version 4, and turns each error answer into the exception its <c>x-amzn-ErrorType</c> names.
/// </summary>
public sealed class GatewayManagementClient
{
    private readonly HttpClient _http;
    private readonly GatewayManagementClientOptions _options;
    private readonly Uri _endpoint;

    /// <summary>Creates a client on <paramref name="http"/> (from <c>IHttpClientFactory</c> or your own; it is not disposed here).</summary>
    public GatewayManagementClient(HttpClient http, GatewayManagementClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        var endpoint = options.Endpoint ?? http.BaseAddress ?? throw new ArgumentException("set Endpoint, or the HttpClient's BaseAddress", nameof(options));
        _endpoint = endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");
        if (options.AccessKeyId is not null && string.IsNullOrEmpty(options.SecretAccessKey))
        {
            throw new ArgumentException("an AccessKeyId needs its SecretAccessKey", nameof(options));
        }
    }

    /// <summary><c>POST /@connections/{id}</c>: sends text to a connection.</summary>
    public Task PostToConnectionAsync(string connectionId, string text, CancellationToken cancellationToken = default) =>
        PostToConnectionAsync(connectionId, Encoding.UTF8.GetBytes(text), cancellationToken);

    /// <summary><c>POST /@connections/{id}</c>: sends bytes to a connection (a text frame when they are valid UTF-8, else binary).</summary>
    public async Task PostToConnectionAsync(string connectionId, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "@connections/" + Segment(connectionId), data, "application/octet-stream", cancellationToken);
    }

    /// <summary><c>GET /@connections/{id}</c>.</summary>
    public async Task<ConnectionInfo> GetConnectionAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        var body = await GetJsonAsync("@connections/" + Segment(connectionId), cancellationToken);
        var identity = body.TryGetProperty("identity", out var i) && i.ValueKind == JsonValueKind.Object
            ? new ConnectionIdentity(StringOf(i, "sourceIp"), StringOf(i, "userAgent"))
            : new ConnectionIdentity(null, null);
        return new ConnectionInfo(DateOf(body, "connectedAt") ?? default, identity, DateOf(body, "lastActiveAt") ?? default, body);
    }

    /// <summary><c>DELETE /@connections/{id}</c>: closes a connection (1000).</summary>
    public async Task DeleteConnectionAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Delete, "@connections/" + Segment(connectionId), null, null, cancellationToken);
    }

    /// <summary><c>HEAD /@connections/{id}</c>: true while the connection is live, false once it is gone.</summary>
    public async Task<bool> ConnectionExistsAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await SendAsync(HttpMethod.Head, "@connections/" + Segment(connectionId), null, null, cancellationToken);
            return true;
        }
        catch (GoneException)
        {
            return false;
        }
    }

    /// <summary><c>PUT /@connections/{id}/topics/{topic}</c>: subscribes a connection for the server.</summary>
    public async Task SubscribeConnectionAsync(string connectionId, string topic, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Put, $"@connections/{Segment(connectionId)}/topics/{Segment(topic)}", null, null, cancellationToken);
    }

    /// <summary><c>DELETE /@connections/{id}/topics/{topic}</c>: unsubscribes a connection for the server.</summary>
    public async Task UnsubscribeConnectionAsync(string connectionId, string topic, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"@connections/{Segment(connectionId)}/topics/{Segment(topic)}", null, null, cancellationToken);
    }

    /// <summary><c>POST /@topics/{topic}</c> with <c>{"type","data"}</c>; how many connections of the answering node took it.</summary>
    public async Task<int> PublishAsync(string topic, string type, object? data, IEnumerable<string>? exclude = null, CancellationToken cancellationToken = default)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?> { ["type"] = type, ["data"] = data }, BatchItem.Json);
        return await DeliveredAsync("@topics/" + Segment(topic) + Exclusion(exclude), body, "application/json", cancellationToken);
    }

    /// <summary><c>POST /@users/{userId}</c>: sends text to every connection of a user.</summary>
    public Task<int> SendToUserAsync(string userId, string text, IEnumerable<string>? exclude = null, CancellationToken cancellationToken = default) =>
        DeliveredAsync("@users/" + Segment(userId) + Exclusion(exclude), Encoding.UTF8.GetBytes(text), "text/plain", cancellationToken);

    /// <summary><c>POST /@broadcast</c>: sends text to every connection.</summary>
    public Task<int> BroadcastAsync(string text, IEnumerable<string>? exclude = null, CancellationToken cancellationToken = default) =>
        DeliveredAsync("@broadcast" + Exclusion(exclude), Encoding.UTF8.GetBytes(text), "text/plain", cancellationToken);

    /// <summary><c>POST /@batch</c>: many sends in one call; one result per item, in item order.</summary>
    public async Task<IReadOnlyList<BatchResult>> BatchAsync(IEnumerable<BatchItem> items, CancellationToken cancellationToken = default)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["items"] = items.ToList() }, BatchItem.Json);
        using var response = await SendAsync(HttpMethod.Post, "@batch", body, "application/json", cancellationToken);
        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
        return json.RootElement.GetProperty("results").EnumerateArray().Select(r => new BatchResult(
            r.GetProperty("status").GetInt32(),
            r.TryGetProperty("delivered", out var d) && d.TryGetInt32(out var n) ? n : 0,
            StringOf(r, "errorType"),
            StringOf(r, "message"))).ToList();
    }

    /// <summary><c>GET /@topics/{topic}</c>: its subscribers on every node, and its presence members.</summary>
    public async Task<TopicInfo> GetTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        var body = await GetJsonAsync("@topics/" + Segment(topic), cancellationToken);
        return new TopicInfo(
            StringOf(body, "channel") ?? topic,
            body.TryGetProperty("subscribers", out var s) && s.TryGetInt32(out var n) ? n : 0,
            body.TryGetProperty("members", out var m) ? m : default,
            !body.TryGetProperty("complete", out var c) || c.ValueKind != JsonValueKind.False,
            body);
    }

    /// <summary><c>GET /@users/{userId}</c>: the user's connections on every node.</summary>
    public async Task<UserConnections> GetUserConnectionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        var body = await GetJsonAsync("@users/" + Segment(userId), cancellationToken);
        var items = body.GetProperty("items").EnumerateArray()
            .Select(i => new UserConnection(StringOf(i, "connectionId")!, StringOf(i, "node"), DateOf(i, "connectedAt")))
            .ToList();
        return new UserConnections(items, !body.TryGetProperty("complete", out var c) || c.ValueKind != JsonValueKind.False);
    }

    private async Task<int> DeliveredAsync(string path, byte[] body, string contentType, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, path, body, contentType, cancellationToken);
        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
        return json.RootElement.TryGetProperty("delivered", out var d) && d.TryGetInt32(out var n) ? n : 0;
    }

    private async Task<JsonElement> GetJsonAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, null, cancellationToken);
        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
        return json.RootElement.Clone();
    }

    /// <summary>Sends one call, authenticated; a success answer is returned, an error answer thrown as its exception.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, ReadOnlyMemory<byte>? body, string? contentType, CancellationToken cancellationToken)
    {
        var uri = new Uri(_endpoint, path);
        using var request = new HttpRequestMessage(method, uri);
        var bytes = body?.ToArray() ?? [];
        if (body is not null)
        {
            request.Content = new ByteArrayContent(bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/octet-stream");
        }

        if (_options.AccessKeyId is { } accessKeyId)
        {
            Sign(request, uri, bytes, accessKeyId, _options.SecretAccessKey!);
        }
        else if (_options.ApiKey is { } apiKey)
        {
            request.Headers.TryAddWithoutValidation("x-api-key", apiKey);
        }

        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ErrorOf(response, cancellationToken);
        }
    }

    /// <summary>Signs as the AWS SDKs sign for <c>execute-api</c>: host, <c>x-amz-content-sha256</c> and <c>x-amz-date</c>.</summary>
    private void Sign(HttpRequestMessage request, Uri uri, byte[] body, string accessKeyId, string secret)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var amzDate = now.ToString(SigV4Signing.DateFormat, CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var payloadHash = SigV4Signing.HashHex(body);
        var host = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port.ToString(CultureInfo.InvariantCulture)}";
        request.Headers.Host = host;
        request.Headers.TryAddWithoutValidation("x-amz-date", amzDate);
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", payloadHash);
        (string, IEnumerable<string>)[] signed = [("host", [host]), ("x-amz-content-sha256", [payloadHash]), ("x-amz-date", [amzDate])];
        var canonical = SigV4Signing.CanonicalRequestPrefix(request.Method.Method, SigV4Signing.CanonicalPath(uri.AbsolutePath), SigV4Signing.CanonicalQuery(uri.Query), signed) + payloadHash;
        var scope = SigV4Signing.Scope(date, _options.Region, "execute-api");
        var signature = SigV4Signing.Signature(SigV4Signing.SigningKey(secret, date, _options.Region, "execute-api"), SigV4Signing.StringToSign(amzDate, scope, canonical));
        request.Headers.TryAddWithoutValidation("Authorization", $"{SigV4Signing.Algorithm} Credential={accessKeyId}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}");
    }

    private static async Task<GatewayApiException> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var type = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.First().Split(':')[0] : "";
        var message = response.ReasonPhrase ?? response.StatusCode.ToString();
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (text.Length > 0)
        {
            try
            {
                using var json = JsonDocument.Parse(text);
                message = StringOf(json.RootElement, "message") ?? StringOf(json.RootElement, "Message") ?? message;
            }
            catch (JsonException)
            {
                message = text;
            }
        }

        var status = response.StatusCode;
        if (type.Length == 0 && status == HttpStatusCode.Gone)
        {
            // HEAD answers carry no body, but their header still names the error; this covers a proxy that drops it.
            type = "GoneException";
        }

        return type switch
        {
            "GoneException" => new GoneException(status, message),
            "BadRequestException" => new BadRequestException(status, message),
            "ForbiddenException" => new ForbiddenException(status, message),
            "LimitExceededException" => new LimitExceededException(status, message),
            "PayloadTooLargeException" => new PayloadTooLargeException(status, message),
            "NotFoundException" => new NotFoundException(status, message),
            "ConflictException" => new ConflictException(status, message),
            "ServiceUnavailableException" => new ServiceUnavailableException(status, message),
            "MethodNotAllowedException" => new MethodNotAllowedException(status, message),
            _ => new GatewayApiException(status, type, message),
        };
    }

    private static string Exclusion(IEnumerable<string>? exclude) =>
        exclude?.ToList() is { Count: > 0 } ids ? "?exclude=" + string.Join(',', ids.Select(Uri.EscapeDataString)) : "";

    private static string Segment(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Uri.EscapeDataString(value);
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? DateOf(JsonElement element, string name) =>
        StringOf(element, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;
}
