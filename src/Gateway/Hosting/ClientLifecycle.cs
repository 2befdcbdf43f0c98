using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Gateway.Auth;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Gateway.Protocol;

namespace Gateway.Hosting;

/// <summary>
/// A client's life on this node: the opening handshake (limits, <c>$connect</c>), the upgrade, the
/// connection's loops, and <c>$disconnect</c> after the close.
/// </summary>
public sealed partial class ClientLifecycle(
    IOptions<GatewayOptions> options,
    GatewayNode node,
    ConnectionRegistry registry,
    ConnectionRuntime connectionRuntime,
    MessageDispatcher dispatcher,
    ConnectAuthenticator authenticator,
    Topics.TopicHub topics,
    Topics.ServerSubscriptions serverSubscriptions,
    GatewayListeners listeners,
    Diagnostics.GatewayMetrics metrics,
    ILogger<ClientLifecycle> logger)
{
    private static readonly byte[] AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8.ToArray();
    // Built once: the trusted proxies, the handshake rate and the allowed origins take a restart to change.
    private readonly ClientAddress _clientAddress = new(options.Value.Connections.TrustedProxies);
    private readonly System.Threading.RateLimiting.PartitionedRateLimiter<string>? _handshakeRate = options.Value.Connections.HandshakeRateLimit <= 0 ? null :
        System.Threading.RateLimiting.PartitionedRateLimiter.Create<string, string>(ip => System.Threading.RateLimiting.RateLimitPartition.GetFixedWindowLimiter(ip, _ =>
            new System.Threading.RateLimiting.FixedWindowRateLimiterOptions { PermitLimit = options.Value.Connections.HandshakeRateLimit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));

    private readonly HashSet<string> _allowedOrigins = new(options.Value.Connections.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    /// <summary>Serves one request to <c>/</c> or <c>/{stage}</c> on the client listener.</summary>
    public async Task HandleAsync(HttpContext context, string? stage)
    {
        if (await AcceptAsync(context, stage) is { } session)
        {
            await RunAsync(session);
        }
    }

    /// <summary>
    /// The opening handshake: limits, authentication, <c>$connect</c> and the upgrade. Null when the handshake was
    /// refused (the response says why); otherwise the upgraded connection, for <see cref="RunAsync(UpgradedConnection)"/>,
    /// which no longer needs <paramref name="context"/>.
    /// </summary>
    internal async Task<UpgradedConnection?> AcceptAsync(HttpContext context, string? stage)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!listeners.Accepts(context, GatewayListenerKind.Client))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return null;
        }

        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (!TryGetHandshakeKey(context.Request, upgrade, out var key))
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers.SecWebSocketVersion = "13";
            await context.Response.WriteAsync("This endpoint accepts WebSocket connections.\n");
            return null;
        }

        var sourceIp = _clientAddress.Resolve(context);
        var connectionId = node.MintConnectionId();
        if (_allowedOrigins.Count > 0 && context.Request.Headers.Origin.ToString() is { Length: > 0 } origin && !_allowedOrigins.Contains(origin))
        {
            Reject(connectionId, sourceIp, "origin", StatusCodes.Status403Forbidden, "origin not allowed");
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return null;
        }

        if (_handshakeRate is not null)
        {
            using var lease = _handshakeRate.AttemptAcquire(sourceIp);
            if (!lease.IsAcquired)
            {
                Reject(connectionId, sourceIp, "rate_limit", StatusCodes.Status429TooManyRequests, "handshake rate limit reached");
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                return null;
            }
        }

        if (registry.IsDraining || !registry.TryReserveSlot(connectionRuntime.Options.MaxConnections))
        {
            Reject(connectionId, sourceIp, registry.IsDraining ? "draining" : "max_connections", StatusCodes.Status503ServiceUnavailable, registry.IsDraining ? "shutting down" : "MaxConnections reached");
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return null;
        }

        // The slot is the upgraded connection's from here on, or released before returning.
        var handedOver = false;
        try
        {
            var handshake = new HandshakeInfo(sourceIp, context.Request.Headers.UserAgent.FirstOrDefault(), stage, context.Request.Headers, context.Request.Query);
            var connection = new GatewayConnection(connectionId, handshake, connectionRuntime);
            var auth = await authenticator.AuthenticateAsync(context, connection);
            if (!auth.IsAccepted)
            {
                Reject(connectionId, sourceIp, "auth", auth.Status, auth.Reason);
                context.Response.StatusCode = auth.Status;
                return null;
            }

            connection.SetIdentity(auth.Identity, authenticator.CloseAt(auth.Identity));
            string? subProtocol;
            if (auth.AwaitFirstMessage)
            {
                // Upgraded now, authenticated by its first message; $connect runs only after that, and $disconnect
                // only when $connect accepted.
                connection.AwaitCredentials(authenticator.FirstMessageDeadline());
                subProtocol = auth.SubProtocol;
            }
            else
            {
                var accepted = await dispatcher.ConnectAsync(connection);
                if (!accepted.IsSuccess)
                {
                    Reject(connectionId, sourceIp, "connect_route", accepted.StatusCode, "$connect route rejected it");
                    context.Response.StatusCode = accepted.StatusCode;
                    return null;
                }

                if (ConnectAnswer.Of(accepted) is { } answer)
                {
                    connection.Features.Set(answer);
                }

                // The token a browser offered as a subprotocol is never answered with; the marker before it is.
                subProtocol = accepted.SubProtocol is { } chosen && chosen != auth.SubProtocolToken ? chosen : auth.SubProtocol;
            }

            UpgradedConnection session;
            try
            {
                session = await UpgradeAsync(context, upgrade!, key, connection, subProtocol);
            }
            catch (Exception) when (!connection.AwaitingCredentials)
            {
                // Once $connect has accepted, $disconnect runs whatever happens next, even if the upgrade fails.
                await dispatcher.DisconnectAsync(connection, new DisconnectInfo(CloseCodes.Abnormal, "Connection lost", InitiatedByClient: false));
                throw;
            }

            handedOver = true;
            return session;
        }
        finally
        {
            if (!handedOver)
            {
                registry.ReleaseSlot();
            }
        }
    }

    /// <summary>Runs an upgraded connection until it closes, then <c>$disconnect</c> (when <c>$connect</c> ran), and frees its slot.</summary>
    internal async Task RunAsync(UpgradedConnection session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var connection = session.Connection;
        var info = new DisconnectInfo(CloseCodes.Abnormal, "Connection lost", InitiatedByClient: false);
        try
        {
            registry.Add(connection);
            metrics.Opened();
            Log.Connected(logger, RouteKeys.Connect, connection.Id, connection.SourceIp, connection.Handshake.Stage ?? "", connection.Identity?.Method ?? "anonymous", connection.UserId ?? "");
            if (!connection.AwaitingCredentials)
            {
                SendConnectedFrame(connection);
            }

            // A handshake that was still in $connect when the drain walked the registry is closed here
            // (after its connected frame, which a close still writes).
            if (registry.IsDraining)
            {
                connection.Close(CloseCodes.GoingAway, "Server shutting down");
            }

            try
            {
                if (!connection.AwaitingCredentials)
                {
                    // What the server subscribed the user to for later connections, right after the connected frame.
                    await serverSubscriptions.ApplyRememberedAsync(connection, CancellationToken.None);
                }

                info = await connection.RunAsync(connection.AwaitingCredentials ? OnFirstMessagesAsync : dispatcher.DispatchAsync);
            }
            finally
            {
                registry.Remove(connection);
                topics.RemoveAll(connection);
                session.Socket.Dispose();
            }

            metrics.Closed(info.StatusCode);
            Log.Disconnected(logger, RouteKeys.Disconnect, connection.Id, connection.SourceIp, info.StatusCode, info.Reason, info.InitiatedByClient ? "client" : "server");
        }
        finally
        {
            try
            {
                if (!connection.AwaitingCredentials)
                {
                    await dispatcher.DisconnectAsync(connection, info);
                }
            }
            finally
            {
                registry.ReleaseSlot();
            }
        }
    }

    private static async Task<UpgradedConnection> UpgradeAsync(HttpContext context, IHttpUpgradeFeature upgrade, string key, GatewayConnection connection, string? subProtocol)
    {
        // An upgraded connection lives far beyond any request body limit or minimum data rate.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } dataRate)
        {
            dataRate.MinDataRate = null;
        }

        var headers = context.Response.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketAccept = AcceptValue(key);
        if (!string.IsNullOrEmpty(subProtocol))
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        var transport = await upgrade.UpgradeAsync();
        var stream = transport as ConnectionStream ?? new ConnectionStream(transport);
        var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subProtocol,
            KeepAliveInterval = TimeSpan.Zero, // pings come from the sweeper, on the injected clock
        });

        // The abort goes to the request lifetime (the transport), never through the context, which an upgraded connection does not keep.
        var lifetime = context.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>();
        connection.Attach(socket, stream, lifetime.Abort);
        return new UpgradedConnection(connection, socket);
    }

    private void Reject(string connectionId, string sourceIp, string kind, int status, string reason)
    {
        Log.HandshakeRejected(logger, RouteKeys.Connect, connectionId, sourceIp, status, kind, reason);
        metrics.Rejected(kind, status);
    }

    private void SendConnectedFrame(GatewayConnection connection)
    {
        if (connectionRuntime.Options.SendConnectedMessage)
        {
            // Ids are URL-safe, so nothing here needs escaping; still written the one way every client frame is.
            using var frame = Protocol.FrameJson.Start();
            frame.Json.WriteStartObject();
            frame.Json.WriteString("type", "connected");
            frame.Json.WriteString("connectionId", connection.Id);
            if (connection.FeatureOrNull<ConnectAnswer>() is { ConnectedMembers: { } members })
            {
                // What $connect added: the members of its object, after the gateway's own.
                using var added = System.Text.Json.JsonDocument.Parse(members);
                foreach (var member in added.RootElement.EnumerateObject())
                {
                    member.WriteTo(frame.Json);
                }
            }

            frame.Json.WriteEndObject();
            connection.TrySendText(frame.ToArray());
        }
    }

    /// <summary>
    /// The message callback of a connection that authenticates by its first message: that message must be
    /// <c>{"secret":"..."}</c>; then <c>$connect</c> runs and the connected frame is sent. Anything else, or a
    /// <c>$connect</c> that refuses, is answered with an <c>unauthorized</c> error frame and close 1008.
    /// </summary>
    private async ValueTask OnFirstMessagesAsync(GatewayConnection connection, ReadOnlyMemory<byte> body, bool binary)
    {
        if (!connection.AwaitingCredentials)
        {
            await dispatcher.DispatchAsync(connection, body, binary);
            return;
        }

        if (!connection.IsOpen)
        {
            return;
        }

        var identity = authenticator.CheckFirstMessage(body.Span, binary);
        if (identity is null)
        {
            Log.FirstMessageRefused(logger, RouteKeys.Connect, connection.Id, connection.SourceIp);
            connection.TrySendText(ClientFrames.Error("unauthorized", "the first message must carry the secret", default));
            connection.Close(CloseCodes.PolicyViolation, "Unauthorized");
            return;
        }

        connection.SetIdentity(identity, null);
        var accepted = await dispatcher.ConnectAsync(connection);
        if (!accepted.IsSuccess)
        {
            Log.FirstMessageRefused(logger, RouteKeys.Connect, connection.Id, connection.SourceIp);
            connection.TrySendText(ClientFrames.Error("unauthorized", $"the $connect route refused the connection ({accepted.StatusCode})", default));
            connection.Close(CloseCodes.PolicyViolation, "Unauthorized");
            return;
        }

        if (ConnectAnswer.Of(accepted) is { } answer)
        {
            connection.Features.Set(answer);
        }

        connection.CredentialsAccepted(authenticator.CloseAt(identity));
        SendConnectedFrame(connection);
        await serverSubscriptions.ApplyRememberedAsync(connection, CancellationToken.None);
    }

    private static bool TryGetHandshakeKey(HttpRequest request, IHttpUpgradeFeature? upgrade, out string key)
    {
        key = "";
        if (upgrade is not { IsUpgradableRequest: true } || !HttpMethods.IsGet(request.Method))
        {
            return false;
        }

        var headers = request.Headers;
        if (!HasToken(headers.Connection, "upgrade") || !HasToken(headers.Upgrade, "websocket") || headers.SecWebSocketVersion != "13")
        {
            return false;
        }

        // Exactly 24 base64 characters encoding 16 bytes (RFC 6455 §4.2.1); base64 decoding alone would allow whitespace.
        var value = headers.SecWebSocketKey.ToString().Trim();
        Span<byte> decoded = stackalloc byte[24];
        if (value.Length != 24 || value.AsSpan().ContainsAny(" \t\r\n") || !Convert.TryFromBase64String(value, decoded, out var length) || length != 16)
        {
            return false;
        }

        key = value;
        return true;
    }

    /// <summary>True when a comma-separated header (<c>Connection</c>, <c>Upgrade</c>) lists <paramref name="token"/>, in any case.</summary>
    internal static bool HasToken(Microsoft.Extensions.Primitives.StringValues values, string token)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                if (part.Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static string AcceptValue(string key)
    {
        Span<byte> input = stackalloc byte[64];
        var length = Encoding.ASCII.GetBytes(key, input);
        AcceptGuid.CopyTo(input[length..]);
        // RFC 6455 defines Sec-WebSocket-Accept as SHA-1 of the key; it proves a WebSocket server answered, nothing more.
        Span<byte> hash = stackalloc byte[20];
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(input[..(length + AcceptGuid.Length)]);
        sha1.GetHashAndReset(hash);
        return Convert.ToBase64String(hash);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} opened from {SourceIp} (stage '{Stage}', {AuthMethod}, user '{UserId}')")]
        public static partial void Connected(ILogger logger, string route, string connectionId, string sourceIp, string stage, string authMethod, string userId);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} from {SourceIp} closed with {CloseStatus} ({CloseReason}), initiated by the {Initiator}")]
        public static partial void Disconnected(ILogger logger, string route, string connectionId, string sourceIp, int closeStatus, string closeReason, string initiator);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "{Route}: handshake {ConnectionId} from {SourceIp} rejected with {StatusCode} ({RejectReason}): {Reason}")]
        public static partial void HandshakeRejected(ILogger logger, string route, string connectionId, string sourceIp, int statusCode, string rejectReason, string reason);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} from {SourceIp} did not authenticate with its first message; closing with 1008")]
        public static partial void FirstMessageRefused(ILogger logger, string route, string connectionId, string sourceIp);
    }
}
