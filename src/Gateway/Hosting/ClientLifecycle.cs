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
    ResumeTokens resumeTokens,
    Backplane.IBackplane backplane,
    Topics.LocalServerSubscriptions localSubscriptions,
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
        if (!TryGetHandshakeKey(context, upgrade, out var key, out var refusal))
        {
            context.Response.StatusCode = refusal;
            if (refusal == StatusCodes.Status426UpgradeRequired && HttpProtocol.IsHttp11(context.Request.Protocol))
            {
                // Upgrade is a connection header, which HTTP/2 does not carry (RFC 9113 §8.2.2).
                context.Response.Headers.Upgrade = "websocket";
            }

            context.Response.Headers.SecWebSocketVersion = "13";
            await context.Response.WriteAsync("This endpoint accepts WebSocket connections.\n");
            return null;
        }

        return await AdmitAsync(context, stage, new TransportStep(
            (_, subProtocol, _) => UpgradeAsync(context, upgrade!, key, subProtocol),
            _ => context.Request.Query["resume"] is { Count: > 0 } token ? ResumeAsk.OfToken(resumeTokens, token.ToString(), context.Request.Query["received"].ToString(), connectionRuntime.Time.GetUtcNow()) : null,
            OriginAllowed: origin => _allowedOrigins.Count == 0 || _allowedOrigins.Contains(origin),
            TakesFirstMessage: true));
    }

    /// <summary>
    /// The admission every client goes through, whatever its transport: origin, rate limit, slot, authentication, resume,
    /// <c>$connect</c>; then <paramref name="step"/> opens the wire (the WebSocket upgrade, or the event stream).
    /// </summary>
    internal async Task<UpgradedConnection?> AdmitAsync(HttpContext context, string? stage, TransportStep step)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(step);
        var sourceIp = _clientAddress.Resolve(context);
        var connectionId = node.MintConnectionId();
        if (context.Request.Headers.Origin.ToString() is { Length: > 0 } origin && !step.OriginAllowed(origin))
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
            var handshake = new HandshakeInfo(sourceIp, context.Request.Headers.UserAgent.FirstOrDefault(), stage, context.Request.Headers, context.Request.Query) { Protocol = context.Request.Protocol };
            var connection = new GatewayConnection(connectionId, handshake, connectionRuntime);
            var auth = await authenticator.AuthenticateAsync(context, connection);
            if (!auth.IsAccepted)
            {
                Reject(connectionId, sourceIp, "auth", auth.Status, auth.Reason);
                context.Response.StatusCode = auth.Status;
                return null;
            }

            if (auth.AwaitFirstMessage && !step.TakesFirstMessage)
            {
                Reject(connectionId, sourceIp, "auth", StatusCodes.Status401Unauthorized, "an event stream carries its credentials in the request");
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return null;
            }

            connection.SetIdentity(auth.Identity, authenticator.CloseAt(auth.Identity));
            string? resumeRefused = null;
            if (connectionRuntime.Options.ResumeWindow > TimeSpan.Zero && step.Resume(auth) is { } ask)
            {
                var (resumed, refused, keepsSlot) = await TryResumeAsync(context, step, auth, ask, sourceIp, stage);
                if (resumed is not null || refused is null)
                {
                    // Resumed: a session of this node keeps the slot it holds (this one is released); one that came from
                    // another node takes this one. Or answered on the socket already.
                    handedOver = keepsSlot;
                    return resumed;
                }

                resumeRefused = refused;
                Log.ResumeRefused(logger, connectionId, sourceIp, refused);
                metrics.ResumeRefused(refused);
            }

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
                var transport = await step.Open(connection, subProtocol, 0);
                connection.Attach(transport);
                session = new UpgradedConnection(connection, transport) { ResumeRefused = resumeRefused };
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

    /// <summary>
    /// Runs an upgraded connection until it closes, then <c>$disconnect</c> (when <c>$connect</c> ran), and frees its slot.
    /// A resumable session whose socket dropped returns without any of that: it waits, and ends later (or is resumed).
    /// </summary>
    internal async Task RunAsync(UpgradedConnection session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var connection = session.Connection;
        var end = new RunEnd(new DisconnectInfo(CloseCodes.Abnormal, "Connection lost", InitiatedByClient: false), Waiting: false);
        try
        {
            if (session.Resumed)
            {
                Log.Resumed(logger, connection.Id, connection.SourceIp);
            }
            else
            {
                registry.Add(connection);
                metrics.Opened(connection.Handshake.Protocol);
                connection.WaitingEnded = (waiting, info) => EndWaitingAsync(waiting, info);
                Log.Connected(logger, RouteKeys.Connect, connection.Id, connection.SourceIp, connection.Handshake.Stage ?? "", connection.Identity?.Method ?? "anonymous", connection.UserId ?? "", connection.Handshake.Protocol);
                if (session.ResumeRefused is { } refused)
                {
                    connection.TrySend(new OutboundMessage(ClientFrames.Error("resume_failed", ResumeRefusal(refused), default), OutboundKind.Session));
                }

                if (!connection.AwaitingCredentials)
                {
                    SendConnectedFrame(connection);
                }
            }

            // A handshake that was still in $connect when the drain walked the registry is closed here
            // (after its connected frame, which a close still writes).
            if (registry.IsDraining)
            {
                connection.Close(CloseCodes.GoingAway, "Server shutting down");
            }

            try
            {
                if (!connection.AwaitingCredentials && !session.Resumed)
                {
                    // What the server subscribed the user to for later connections, right after the connected frame.
                    await serverSubscriptions.ApplyRememberedAsync(connection, CancellationToken.None);
                }

                end = await connection.RunAsync(connection.AwaitingCredentials ? OnFirstMessagesAsync : dispatcher.DispatchAsync);
            }
            finally
            {
                if (!end.Waiting)
                {
                    registry.Remove(connection);
                    topics.RemoveAll(connection);
                }

                session.Transport.Dispose();
            }

            if (!end.Waiting)
            {
                metrics.Closed(end.Info.StatusCode);
                Log.Disconnected(logger, RouteKeys.Disconnect, connection.Id, connection.SourceIp, end.Info.StatusCode, end.Info.Reason, end.Info.InitiatedByClient ? "client" : "server");
            }
        }
        finally
        {
            if (!end.Waiting)
            {
                try
                {
                    if (!connection.AwaitingCredentials)
                    {
                        await dispatcher.DisconnectAsync(connection, end.Info);
                    }
                }
                finally
                {
                    registry.ReleaseSlot();
                }
            }
        }
    }

    /// <summary>The end of a session that waited for its client in vain: what <see cref="RunAsync(UpgradedConnection)"/> does after a close.</summary>
    private async Task EndWaitingAsync(GatewayConnection connection, DisconnectInfo info)
    {
        try
        {
            registry.Remove(connection);
            topics.RemoveAll(connection);
            metrics.Closed(info.StatusCode);
            Log.Disconnected(logger, RouteKeys.Disconnect, connection.Id, connection.SourceIp, info.StatusCode, info.Reason, info.InitiatedByClient ? "client" : "server");
            await dispatcher.DisconnectAsync(connection, info);
        }
        catch (Exception ex)
        {
            Log.WaitingEndFailed(logger, ex, connection.Id);
        }
        finally
        {
            registry.ReleaseSlot();
        }
    }

    /// <summary>
    /// A handshake with <c>?resume=</c>: the waiting session the token names takes this socket, when the token is valid,
    /// names this node, the same user authenticated again, and the frames the client missed are still kept. Returns the
    /// resumed session; or null and why not (the handshake goes on as a new connection); or null and null when the
    /// socket was upgraded and answered already (the session ended while it was being taken over).
    /// </summary>
    private async Task<(UpgradedConnection? Session, string? Refused, bool KeepsSlot)> TryResumeAsync(HttpContext context, TransportStep step, AuthOutcome auth, ResumeAsk ask, string sourceIp, string? stage)
    {
        if (auth.AwaitFirstMessage)
        {
            return (null, "first_message", false);
        }

        if (ask.Ticket is not { } ticket)
        {
            return (null, ask.Invalid, false);
        }

        if (ticket.UserId != auth.Identity?.UserId)
        {
            return (null, "user", false);
        }

        var received = ask.Received;
        if (ticket.NodeId != node.Id)
        {
            return await ResumeFromAsync(context, step, auth, ticket, received, sourceIp, stage);
        }

        if (!registry.TryGet(ticket.ConnectionId, out var waiting) || !waiting.IsResumable)
        {
            return (null, "gone", false);
        }

        if (waiting.UserId != ticket.UserId)
        {
            return (null, "user", false);
        }

        if (await waiting.ClaimResumeAsync(ticket.Generation, received, CancellationToken.None) is { } claimRefused)
        {
            return (null, claimRefused, false);
        }

        ClientTransport transport;
        try
        {
            waiting.SetIdentity(auth.Identity, authenticator.CloseAt(auth.Identity));
            transport = await step.Open(waiting, auth.SubProtocol, received ?? waiting.FramesWritten);
        }
        catch (Exception)
        {
            waiting.ReleaseResume();
            throw;
        }

        if (waiting.Reattach(transport, received, (generation, missed) => ResumedFrame(waiting, generation, missed)) is { } late)
        {
            // It ended (closed, or its window passed) while the socket was being upgraded.
            waiting.ReleaseResume();
            await RefuseUpgradedAsync(transport, late);
            return (null, null, false);
        }

        metrics.SessionResumed("same_node");
        return (new UpgradedConnection(waiting, transport) { Resumed = true }, null, false);
    }

    /// <summary>
    /// A resume of a session another node holds: a connection with its id is made here first (so that calls the other
    /// node sends on from the moment it lets go are kept), then that node hands the session over: its frames, state and
    /// subscriptions, which are taken up here from where they were.
    /// </summary>
    private async Task<(UpgradedConnection? Session, string? Refused, bool KeepsSlot)> ResumeFromAsync(HttpContext context, TransportStep step, AuthOutcome auth, ResumeTicket ticket, long? received, string sourceIp, string? stage)
    {
        if (registry.TryGet(ticket.ConnectionId, out _))
        {
            // Already here: another resume of it is under way, or done.
            return (null, "replayed", false);
        }

        var handshake = new HandshakeInfo(sourceIp, context.Request.Headers.UserAgent.FirstOrDefault(), stage, context.Request.Headers, context.Request.Query) { Protocol = context.Request.Protocol };
        var moved = new GatewayConnection(ticket.ConnectionId, handshake, connectionRuntime);
        moved.SetIdentity(auth.Identity, authenticator.CloseAt(auth.Identity));
        moved.BeginMovedIn(ticket.Generation);
        moved.WaitingEnded = (waiting, info) => EndWaitingAsync(waiting, info);
        registry.Add(moved);
        var taken = false;
        try
        {
            var handover = await backplane.TakeSessionAsync(ticket.ConnectionId, ticket.NodeId, ticket.Generation, received, ticket.UserId, CancellationToken.None);
            if (handover.Handover is null || SessionState.FromBytes(handover.Handover) is not { } state)
            {
                return (null, handover.Refused.Length > 0 ? handover.Refused : "gone", false);
            }

            taken = true;
            return await TakeUpAsync(context, step, auth, ticket, moved, state);
        }
        finally
        {
            if (!taken)
            {
                registry.Remove(moved);
                moved.AbandonMovedIn();
            }
        }
    }

    /// <summary>Takes up here a session another node handed over; if that fails, it waits (its window runs) like any other.</summary>
    private async Task<(UpgradedConnection? Session, string? Refused, bool KeepsSlot)> TakeUpAsync(HttpContext context, TransportStep step, AuthOutcome auth, ResumeTicket ticket, GatewayConnection moved, SessionState state)
    {
        try
        {
            moved.RestoreMovedIn(state.Written, new DateTimeOffset(state.ConnectedAtTicks, TimeSpan.Zero));
            foreach (var (name, value) in state.Attributes)
            {
                moved.Attributes[name] = value;
            }

            if (state.ConnectedMembers is not null || state.PresenceInfo is not null)
            {
                moved.Features.Set(new ConnectAnswer(state.ConnectedMembers, state.PresenceInfo));
            }

            await backplane.SessionMovedHereAsync(ticket.ConnectionId, CancellationToken.None);
            foreach (var (pattern, position) in state.Topics)
            {
                await localSubscriptions.RestoreAsync(moved, pattern, position, CancellationToken.None);
            }

            if (state.SsePostsApplied > 0)
            {
                moved.Features.Set(new SseSession(state.SsePostsApplied));
            }

            var transport = await step.Open(moved, auth.SubProtocol, state.Written);
            if (moved.Reattach(transport, null, (generation, missed) => ResumedFrame(moved, generation, missed), state.Frames) is { } late)
            {
                // Its end (and the slot this handshake took for it) is the session's now.
                moved.ReleaseResume();
                await RefuseUpgradedAsync(transport, late);
                return (null, null, true);
            }

            metrics.SessionResumed("moved");
            Log.ResumedFrom(logger, ticket.ConnectionId, ticket.NodeId, state.Frames.Count);
            return (new UpgradedConnection(moved, transport) { Resumed = true }, null, true);
        }
#pragma warning disable CA1031 // The session waits on (its window runs, its end frees the slot); the handshake fails.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            moved.ReleaseResume();
            Log.TakeUpFailed(logger, ex, ticket.ConnectionId);
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            }

            return (null, null, true);
        }
    }

    /// <summary>Tells a client whose session ended while its socket was being upgraded, and closes that socket.</summary>
    private async Task RefuseUpgradedAsync(ClientTransport transport, string reason)
    {
        metrics.ResumeRefused(reason);
        await transport.SendAsync(new OutboundMessage(ClientFrames.Error("resume_failed", ResumeRefusal(reason), default), OutboundKind.Text), flush: true);
        await transport.CloseAsync(CloseCodes.Normal, "Session ended");
        transport.Dispose();
    }

    private static string ResumeRefusal(string reason) => reason switch
    {
        "invalid" => "the resume token is not valid",
        "invalid_event_id" => "the Last-Event-ID does not name a session of this gateway",
        "expired" => "the resume token expired",
        "replayed" => "the resume token was used already; only the newest one resumes",
        "user" => "the resume token belongs to another user",
        "node_gone" => "the node that held the session is gone, and the session with it",
        "lost" => "frames the client missed are no longer kept",
        "first_message" => "a session resumes only with credentials in the handshake",
        "busy" => "the session could not be taken over in time",
        _ => "the session ended (its window passed, its buffer overflowed, or it was closed)",
    };

    private byte[] ResumedFrame(GatewayConnection connection, uint generation, int missed)
    {
        using var frame = Protocol.FrameJson.Start();
        frame.Json.WriteStartObject();
        frame.Json.WriteString("type", "resumed");
        frame.Json.WriteString("connectionId", connection.Id);
        frame.Json.WriteString("resumeToken", resumeTokens.For(connection, generation));
        frame.Json.WriteNumber("missed", missed);
        frame.Json.WriteEndObject();
        return frame.ToArray();
    }

    private async Task<ClientTransport> UpgradeAsync(HttpContext context, IHttpUpgradeFeature upgrade, string key, string? subProtocol)
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
        if (!string.IsNullOrEmpty(subProtocol))
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        // permessage-deflate when the client offers it and the options (as they are now) allow it.
        var deflate = PerMessageDeflate.Negotiate(context.Request.Headers.SecWebSocketExtensions, connectionRuntime.Options.Compression);
        if (deflate is not null)
        {
            headers.SecWebSocketExtensions = deflate.Response;
            deflate = deflate.WithCounter(metrics.Compressed);
        }

        // The abort goes to the request lifetime (the transport), never through the context, which an upgraded connection does not keep.
        var lifetime = context.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>();
        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            // An HTTP/2 stream (RFC 8441): answered 200, and its DATA frames carry the WebSocket's frames. HTTP/2 has no
            // Connection or Upgrade header, and the stream needs no Sec-WebSocket-Accept. As for an upgraded HTTP/1.1
            // connection, the web server's minimum response rate does not apply: a client that reads slowly is the send
            // queue's to judge (1013), not a reason to reset its stream.
            if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } responseRate)
            {
                responseRate.MinDataRate = null;
            }

            return WebSocketTransport.OverStream(await connect.AcceptAsync(), lifetime.Abort, deflate);
        }

        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketAccept = AcceptValue(key);
        if (upgrade is HandshakeFeatures connectionLevel)
        {
            // A handshake taken at the connection level: the frames run straight on the connection's pipes.
            var pipes = await connectionLevel.UpgradeToPipesAsync();
            return new WebSocketTransport(pipes.Input, pipes.Output, ownsPipes: false, lifetime.Abort, deflate);
        }

        return WebSocketTransport.OverStream(await upgrade.UpgradeAsync(), lifetime.Abort, deflate);
    }

    private void Reject(string connectionId, string sourceIp, string kind, int status, string reason)
    {
        Log.HandshakeRejected(logger, RouteKeys.Connect, connectionId, sourceIp, status, kind, reason);
        metrics.Rejected(kind, status);
    }

    private void SendConnectedFrame(GatewayConnection connection)
    {
        // A resumable session always gets it (its resume token is in it), and an event stream (its send URL is).
        var sse = connection.FeatureOrNull<SseSession>() is not null;
        if (connectionRuntime.Options.SendConnectedMessage || connection.IsResumable || sse)
        {
            // Ids are URL-safe, so nothing here needs escaping; still written the one way every client frame is.
            using var frame = Protocol.FrameJson.Start();
            frame.Json.WriteStartObject();
            frame.Json.WriteString("type", "connected");
            frame.Json.WriteString("connectionId", connection.Id);
            if (sse)
            {
                frame.Json.WriteString("sendUrl", SseEndpoints.SendUrl(connection.Handshake.Stage, connection.Id, resumeTokens.ConnectionKey(connection.Id)));
            }

            if (connection.IsResumable)
            {
                frame.Json.WriteString("resumeToken", resumeTokens.For(connection));
            }

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
            connection.TrySend(new OutboundMessage(frame.ToArray(), OutboundKind.Session));
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

    /// <summary>
    /// True for a WebSocket opening handshake: an HTTP/1.1 upgrade (a <c>GET</c> with <c>Upgrade: websocket</c> and a
    /// valid <c>Sec-WebSocket-Key</c>), or an HTTP/2 extended <c>CONNECT</c> with <c>:protocol</c> <c>websocket</c>
    /// (RFC 8441). Otherwise <paramref name="refusal"/> is the answer: 426 to a request that is no upgrade, and 400 to
    /// an extended <c>CONNECT</c> for another protocol or version, which no upgrade of this endpoint can satisfy.
    /// </summary>
    private static bool TryGetHandshakeKey(HttpContext context, IHttpUpgradeFeature? upgrade, out string key, out int refusal)
    {
        key = "";
        refusal = StatusCodes.Status426UpgradeRequired;
        var request = context.Request;
        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            if (!string.Equals(connect.Protocol, "websocket", StringComparison.OrdinalIgnoreCase) || request.Headers.SecWebSocketVersion != "13")
            {
                refusal = StatusCodes.Status400BadRequest;
                return false;
            }

            // HTTP/2 carries no key. Backends written for Amazon's events may read one (Amazon sends the client's), so the
            // request is given a fresh one of the same form; it is seen in $connect's headers and nowhere on the wire.
            key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            request.Headers.SecWebSocketKey = key;
            SpellHeaderNames(request.Headers);
            return true;
        }

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

    /// <summary>
    /// HTTP/2 sends every header name in lower case. The names the web server knows already have its spelling (as over
    /// HTTP/1.1); the others are given the spelling HTTP/1.1 clients use (<c>x-custom</c> becomes <c>X-Custom</c>), so
    /// that a backend reading <c>event.headers['X-Custom']</c>, as written for Amazon's events, finds them either way.
    /// </summary>
    private static void SpellHeaderNames(IHeaderDictionary headers)
    {
        List<string>? lowerCase = null;
        foreach (var name in headers.Keys)
        {
            if (name.AsSpan().ContainsAnyInRange('a', 'z') && !name.AsSpan().ContainsAnyInRange('A', 'Z'))
            {
                (lowerCase ??= []).Add(name);
            }
        }

        foreach (var name in lowerCase ?? [])
        {
            var values = headers[name];
            headers.Remove(name);
            var spelled = string.Create(name.Length, name, (span, source) =>
            {
                for (var i = 0; i < source.Length; i++)
                {
                    span[i] = i == 0 || source[i - 1] == '-' ? char.ToUpperInvariant(source[i]) : source[i];
                }
            });
            headers[spelled] = values;
        }
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
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} opened from {SourceIp} (stage '{Stage}', {AuthMethod}, user '{UserId}', {Protocol})")]
        public static partial void Connected(ILogger logger, string route, string connectionId, string sourceIp, string stage, string authMethod, string userId, string protocol);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} from {SourceIp} closed with {CloseStatus} ({CloseReason}), initiated by the {Initiator}")]
        public static partial void Disconnected(ILogger logger, string route, string connectionId, string sourceIp, int closeStatus, string closeReason, string initiator);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "{Route}: handshake {ConnectionId} from {SourceIp} rejected with {StatusCode} ({RejectReason}): {Reason}")]
        public static partial void HandshakeRejected(ILogger logger, string route, string connectionId, string sourceIp, int statusCode, string rejectReason, string reason);

        [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Connection {ConnectionId} from {SourceIp} resumed its session")]
        public static partial void Resumed(ILogger logger, string connectionId, string sourceIp);

        [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Handshake {ConnectionId} from {SourceIp} asked to resume a session, refused ({Reason}); it connects as a new connection")]
        public static partial void ResumeRefused(ILogger logger, string connectionId, string sourceIp, string reason);

        [LoggerMessage(EventId = 1010, Level = LogLevel.Error, Message = "Ending connection {ConnectionId}, which waited for its client in vain, failed")]
        public static partial void WaitingEndFailed(ILogger logger, Exception exception, string connectionId);

        [LoggerMessage(EventId = 1012, Level = LogLevel.Error, Message = "Connection {ConnectionId} was handed over here but could not be taken up; it waits for its client")]
        public static partial void TakeUpFailed(ILogger logger, Exception exception, string connectionId);

        [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Connection {ConnectionId} resumed here from node {NodeId}, with {Frames} frames it had missed")]
        public static partial void ResumedFrom(ILogger logger, string connectionId, string nodeId, int frames);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} from {SourceIp} did not authenticate with its first message; closing with 1008")]
        public static partial void FirstMessageRefused(ILogger logger, string route, string connectionId, string sourceIp);
    }
}
