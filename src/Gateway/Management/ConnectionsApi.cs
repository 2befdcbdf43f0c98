using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// <c>@connections</c>: push to a connection (<c>POST</c>), describe it (<c>GET</c>), close it (<c>DELETE</c>),
/// wire-compatible with Amazon API Gateway's management API; and, beyond it, a paged list (<c>GET /@connections</c>).
/// </summary>
public sealed partial class ConnectionsApi(
    IOptions<GatewayOptions> options,
    ConnectionSender sender,
    ConnectionRegistry registry,
    GatewayListeners listeners,
    ManagementAccess access,
    PublishApi publishing,
    ILogger<ConnectionsApi> logger)
{
    /// <summary>The resource segment this API serves.</summary>
    public const string Resource = "@connections";

    private const int MaxAttributesBytes = 16 * 1024;
    private readonly ManagementOptions _options = options.Value.Management;

    /// <summary>Serves one request to the management catch-all route.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!listeners.Accepts(context, GatewayListenerKind.Management))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!ManagementRequest.TryParse(context.Request.Path.Value, out var request) || (request.Resource != Resource && !PublishApi.Serves(request.Resource)))
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status404NotFound, ManagementErrors.NotFound, "No such management resource.");
            return;
        }

        // The body is read (within its limit) before the credentials are checked: a signature covers it.
        var method = context.Request.Method;
        var limit = HttpMethods.IsPatch(method) ? MaxAttributesBytes : _options.MaxPayloadBytes;
        var body = await ReadBodyAsync(context.Request, limit, context.RequestAborted);
        if (body is null)
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ManagementErrors.PayloadTooLarge,
                $"Request body exceeds the maximum of {limit} bytes.");
            return;
        }

        if (access.Refusal(context, body) is { } refusal)
        {
            Log.Forbidden(logger, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", refusal);
            await ManagementErrors.WriteAsync(context, StatusCodes.Status403Forbidden, ManagementErrors.Forbidden, "Forbidden");
            return;
        }

        try
        {
            await ServeAsync(context, request, method, body);
        }
        catch (BackplaneUnavailableException ex)
        {
            Log.BackplaneUnavailable(logger, request.Resource, ex.Message);
            await ManagementErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ManagementErrors.ServiceUnavailable,
                "Other nodes cannot be reached right now; anything for this node's own connections was delivered. " + ex.Message);
        }
    }

    private async Task ServeAsync(HttpContext context, ManagementRequest request, string method, byte[] body)
    {
        if (request.Resource != Resource)
        {
            await publishing.HandleAsync(context, request, body);
            return;
        }

        switch (request.Id)
        {
            case null when HttpMethods.IsGet(method):
                await ListAsync(context);
                return;
            case null:
                await ManagementErrors.WriteAsync(context, StatusCodes.Status404NotFound, ManagementErrors.NotFound, "A connection id is required.");
                return;
        }

        var id = request.Id;
        if (!ConnectionId.IsWellFormed(id))
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, "Invalid connectionId: " + id);
            return;
        }

        if (HttpMethods.IsPost(method))
        {
            await PostAsync(context, id, body);
        }
        else if (HttpMethods.IsGet(method))
        {
            await GetAsync(context, id);
        }
        else if (HttpMethods.IsDelete(method))
        {
            await DeleteAsync(context, id);
        }
        else if (HttpMethods.IsPatch(method))
        {
            await PatchAsync(context, id, body);
        }
        else
        {
            context.Response.Headers.Allow = "GET, POST, DELETE, PATCH";
            await ManagementErrors.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, ManagementErrors.MethodNotAllowed, $"{method} is not supported on a connection.");
        }
    }

    private async Task PostAsync(HttpContext context, string id, byte[] body)
    {
        // Bytes that are valid UTF-8 go out as a text frame, anything else as binary.
        var message = Utf8.IsValid(body) ? OutboundMessage.Text(body) : OutboundMessage.Binary(body);
        var result = await sender.SendAsync(id, message, context.RequestAborted);
        await AnswerAsync(context, id, result, StatusCodes.Status200OK);
    }

    private async Task GetAsync(HttpContext context, string id)
    {
        var snapshot = await sender.GetConnectionAsync(id, context.RequestAborted);
        if (snapshot is null)
        {
            await AnswerAsync(context, id, SendResult.Gone, 0);
            return;
        }

        context.Response.ContentType = "application/json";
        var body = new ConnectionBody(Timestamp(snapshot.ConnectedAt), new IdentityBody(snapshot.SourceIp, snapshot.UserAgent), Timestamp(snapshot.LastActiveAt),
            snapshot.Attributes.Count > 0 ? snapshot.Attributes : null);
        await context.Response.WriteAsync(JsonSerializer.Serialize(body, ManagementJson.Default.ConnectionBody));
    }

    private async Task DeleteAsync(HttpContext context, string id)
    {
        var closed = await sender.DisconnectAsync(id, CloseCodes.Normal, "Deleted", context.RequestAborted);
        await AnswerAsync(context, id, closed ? SendResult.Sent : SendResult.Gone, StatusCodes.Status204NoContent);
    }

    /// <summary><c>PATCH</c> with a JSON object of string values sets those attributes; a null value removes one.</summary>
    private async Task PatchAsync(HttpContext context, string id, byte[] body)
    {
        Dictionary<string, string?>? changes;
        try
        {
            changes = JsonSerializer.Deserialize(body, ManagementJson.Default.DictionaryStringString);
        }
        catch (JsonException)
        {
            changes = null;
        }

        if (changes is null)
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, "The body must be a JSON object of string (or null) values.");
            return;
        }

        var set = await sender.SetAttributesAsync(id, changes, context.RequestAborted);
        await AnswerAsync(context, id, set ? SendResult.Sent : SendResult.Gone, StatusCodes.Status204NoContent);
    }

    private async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var requested = int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : 100;
        var limit = Math.Clamp(requested, 1, _options.MaxPageSize);
        var cursor = query["cursor"].FirstOrDefault() ?? "";

        // Id order makes the cursor stable while connections come and go between pages. Closing
        // connections are neither listed nor counted.
        var open = registry.All().Where(c => c.IsOpen && !c.AwaitingCredentials).ToList();
        var page = open
            .Where(c => string.CompareOrdinal(c.Id, cursor) > 0)
            .OrderBy(c => c.Id, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var items = page.Take(limit)
            .Select(c => new ConnectionItem(c.Id, Timestamp(c.ConnectedAt), new IdentityBody(c.SourceIp, c.UserAgent), Timestamp(c.LastActiveAt)))
            .ToList();
        var next = page.Count > limit ? items[^1].ConnectionId : null;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new ConnectionListBody(open.Count, items, next), ManagementJson.Default.ConnectionListBody));
    }

    private static Task AnswerAsync(HttpContext context, string id, SendResult result, int success)
    {
        switch (result)
        {
            case SendResult.Sent:
                context.Response.StatusCode = success;
                return Task.CompletedTask;
            case SendResult.QueueFull:
                return ManagementErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, ManagementErrors.LimitExceeded,
                    $"The send queue of connection {id} is full; the connection is being closed as a slow consumer.");
            case SendResult.BadId:
                return ManagementErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, "Invalid connectionId: " + id);
            case SendResult.Unavailable:
                return ManagementErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ManagementErrors.ServiceUnavailable,
                    $"The node holding connection {id} cannot be reached right now.");
            default:
                return ManagementErrors.WriteAsync(context, StatusCodes.Status410Gone, ManagementErrors.Gone, $"Connection {id} is gone.");
        }
    }

    /// <summary>Reads the body whole; null when it is over <paramref name="max"/> bytes.</summary>
    internal static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        if (request.ContentLength is long declared)
        {
            if (declared > max)
            {
                return null;
            }

            var exact = new byte[declared];
            await request.Body.ReadExactlyAsync(exact, cancellationToken);
            return exact;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Management call from {RemoteAddress} refused: {Reason}")]
        public static partial void Forbidden(ILogger logger, string remoteAddress, string reason);

        [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Management call on {Resource} could not reach other nodes: {Detail}")]
        public static partial void BackplaneUnavailable(ILogger logger, string resource, string detail);
    }
}
