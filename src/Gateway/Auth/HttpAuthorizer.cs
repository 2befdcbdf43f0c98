using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Auth;

/// <summary>
/// An HTTP backend that authorizes handshakes, as Amazon API Gateway's REQUEST authorizer: the handshake's identity
/// sources must all be present (otherwise 401 without a call); the backend gets the authorizer event and answers in
/// the Lambda-authorizer format (<c>principalId</c>, <c>policyDocument</c>, <c>context</c>) or the simple one
/// (<c>isAuthorized</c>, <c>context</c>). Allow and Deny are cached per identity for <c>CacheTtl</c>.
/// </summary>
public sealed partial class HttpAuthorizer
{
    private const string DefaultIdentitySource = "route.request.header.Authorization";
    private readonly AuthorizerOptions _options;
    private readonly Uri _uri;
    private readonly IHttpClientFactory _clients;
    private readonly GatewayIdentity _endpoint;
    private readonly ConnectionSender _sender;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly (bool Header, string Name)[] _sources;
    private readonly ConcurrentDictionary<string, CachedDecision> _cache = new(StringComparer.Ordinal);
    private long _cacheHits;

    /// <summary>Creates the authorizer.</summary>
    public HttpAuthorizer(AuthorizerOptions options, IHttpClientFactory clients, GatewayIdentity endpoint, ConnectionSender sender, IServiceProvider services, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _uri = new Uri(options.Uri!);
        _clients = clients;
        _endpoint = endpoint;
        _sender = sender;
        _services = services;
        _time = time;
        _logger = logger;
        _sources = [.. (options.IdentitySources.Count > 0 ? options.IdentitySources : [DefaultIdentitySource]).Select(s => ParseSource(s)!.Value)];
    }

    /// <summary>Identities answered from the cache so far.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    /// <summary>The header or query parameter an identity source names, or null when it is not one this gateway reads.</summary>
    public static (bool Header, string Name)? ParseSource(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        const string header = "route.request.header.", query = "route.request.querystring.";
        if (source.StartsWith(header, StringComparison.Ordinal) && source.Length > header.Length)
        {
            return (true, source[header.Length..]);
        }

        return source.StartsWith(query, StringComparison.Ordinal) && source.Length > query.Length ? (false, source[query.Length..]) : null;
    }

    /// <summary>True when every identity source is present in the handshake.</summary>
    public bool HasIdentity(HandshakeInfo handshake)
    {
        ArgumentNullException.ThrowIfNull(handshake);
        foreach (var source in _sources)
        {
            if (string.IsNullOrEmpty(ValueOf(handshake, source)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// An identity source's value as the authorizer's event carries it: the last one when a header or parameter is
    /// sent more than once, so the decision cached for it is the decision the backend made about it.
    /// </summary>
    private static string? ValueOf(HandshakeInfo handshake, (bool Header, string Name) source)
    {
        var values = source.Header ? handshake.Headers[source.Name] : handshake.Query[source.Name];
        return values.Count > 0 ? values[^1] : null;
    }

    /// <summary>Asks the backend (or the cache) about the handshake of <paramref name="connection"/>.</summary>
    public async ValueTask<AuthOutcome> AuthorizeAsync(GatewayConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        // Each value prefixed with its length: no value can contain a separator that would make two identities one key.
        var key = string.Concat(_sources.Select(s => ValueOf(connection.Handshake, s) ?? "").Select(v => $"{v.Length}:{v};"));
        var now = _time.GetUtcNow().UtcTicks;
        if (_cache.TryGetValue(key, out var cached) && cached.ExpiresAtTicks > now)
        {
            Interlocked.Increment(ref _cacheHits);
            return cached.Outcome;
        }

        var outcome = await AskAsync(connection, cancellationToken);
        // Allow and Deny are the backend's decisions about this identity; failures are not, and are asked again.
        if (_options.CacheTtl > TimeSpan.Zero && (outcome.IsAccepted || outcome.Reason == DeniedReason))
        {
            if (_cache.Count >= _options.MaxCacheEntries)
            {
                foreach (var (k, v) in _cache)
                {
                    if (v.ExpiresAtTicks <= now)
                    {
                        _cache.TryRemove(k, out _);
                    }
                }

                if (_cache.Count >= _options.MaxCacheEntries)
                {
                    _cache.Clear();
                }
            }

            _cache[key] = new CachedDecision(outcome, now + _options.CacheTtl.Ticks);
        }

        return outcome;
    }

    private const string DeniedReason = "the authorizer denied it";

    private async Task<AuthOutcome> AskAsync(GatewayConnection connection, CancellationToken cancellationToken)
    {
        var context = new GatewayRouteContext(connection, RouteKeys.Connect, RouteEventType.Connect, default, false, _sender, _services);
        var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer, Protocol.FrameJson.WriterOptions))
        {
            WebSocketEvent.WriteAuthorizerRequest(writer, context, _endpoint, _time.GetUtcNow());
        }

        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = new ByteArrayContent(buffer.GetBuffer(), 0, (int)buffer.Length) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _clients.CreateClient(BackendHttpClient.Name).SendAsync(request, deadline.Token);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Log.Refused(_logger, connection.Id, (int)response.StatusCode);
                return AuthOutcome.Reject((int)response.StatusCode, "the authorizer refused it");
            }

            if (!response.IsSuccessStatusCode)
            {
                Log.Failed(_logger, connection.Id, $"the authorizer answered {(int)response.StatusCode}");
                return AuthOutcome.Reject(500, "the authorizer failed");
            }

            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token);
            if (Decide(body) is { } decision)
            {
                return decision;
            }

            Log.Failed(_logger, connection.Id, "its answer is in neither the Lambda-authorizer nor the simple format");
            return AuthOutcome.Reject(500, "the authorizer's answer was not understood");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            Log.Failed(_logger, connection.Id, ex is OperationCanceledException ? "timed out" : ex.GetType().Name);
            return AuthOutcome.Reject(500, "the authorizer failed");
        }
    }

    /// <summary>Reads an answer in either format; null when it is neither.</summary>
    internal static AuthOutcome? Decide(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        if (!JsonDocument.TryParseValue(ref reader, out var parsed))
        {
            return null;
        }

        using var document = parsed;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        bool allowed;
        if (root.TryGetProperty("isAuthorized", out var simple) && simple.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            allowed = simple.GetBoolean();
        }
        else if (root.TryGetProperty("policyDocument", out var policy) && policy.ValueKind == JsonValueKind.Object)
        {
            allowed = Allows(policy);
        }
        else
        {
            return null;
        }

        if (!allowed)
        {
            return AuthOutcome.Reject(403, DeniedReason);
        }

        string? principalId = root.TryGetProperty("principalId", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        var values = new List<KeyValuePair<string, JsonElement>>();
        var claims = new List<Claim>();
        if (principalId is not null)
        {
            claims.Add(new Claim("sub", principalId));
        }

        if (root.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in context.EnumerateObject())
            {
                values.Add(new(property.Name, property.Value.Clone()));
                claims.Add(new Claim(property.Name, property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText()));
            }
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, "authorizer", "sub", null));
        return AuthOutcome.Accept(new ConnectionIdentity("authorizer", principal, principalId, ConnectionIdentity.AuthorizerObject(principalId, values), null));
    }

    /// <summary>
    /// An IAM policy allows the call when a statement allows <c>execute-api:Invoke</c> and none denies it. Resources are
    /// not matched: the policy is about this one handshake.
    /// </summary>
    private static bool Allows(JsonElement policy)
    {
        if (!policy.TryGetProperty("Statement", out var statements))
        {
            return false;
        }

        var allow = false;
        foreach (var statement in statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().ToArray() : [statements])
        {
            if (statement.ValueKind != JsonValueKind.Object || !CoversInvoke(statement))
            {
                continue;
            }

            var effect = statement.TryGetProperty("Effect", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            if (string.Equals(effect, "Deny", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            allow |= string.Equals(effect, "Allow", StringComparison.OrdinalIgnoreCase);
        }

        return allow;
    }

    private static bool CoversInvoke(JsonElement statement)
    {
        if (!statement.TryGetProperty("Action", out var action))
        {
            return false;
        }

        var actions = action.ValueKind == JsonValueKind.Array ? action.EnumerateArray() : Enumerable.Repeat(action, 1);
        return actions.Any(a => a.ValueKind == JsonValueKind.String && a.GetString() is "*" or "execute-api:*" or "execute-api:Invoke");
    }

    private sealed record CachedDecision(AuthOutcome Outcome, long ExpiresAtTicks);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "Handshake of {ConnectionId}: the authorizer answered {StatusCode}")]
        public static partial void Refused(ILogger logger, string connectionId, int statusCode);

        [LoggerMessage(EventId = 1412, Level = LogLevel.Error, Message = "Handshake of {ConnectionId}: the authorizer failed ({Detail}); answered 500")]
        public static partial void Failed(ILogger logger, string connectionId, string detail);
    }
}
