using System.Globalization;
using System.Text.Json;
using Gateway.Routing;
using Microsoft.Extensions.Logging;
using Gateway.Protocol;

namespace Gateway.Auth;

/// <summary>
/// The built-in <c>refresh</c> route: <c>{"action":"refresh","token":"...","id":...}</c> (the token at the top level or
/// under <c>data</c>) replaces the connection's JWT without reconnecting. The new token must be valid and name the same
/// user; the answer is <c>{"type":"refreshed","expiresAt":...,"resumeToken":...,"id":...}</c> (the token when sessions are resumable), or an <c>unauthorized</c> error frame, and the
/// connection stays open on its old token either way until that expires.
/// </summary>
public sealed partial class TokenRefreshHandler(ConnectAuthenticator authenticator, Connections.ConnectionRegistry registry, Connections.ResumeTokens resumeTokens, ILogger<TokenRefreshHandler> logger) : IGatewayRouteHandler
{
    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        JsonElement id = default;
        string? token = null;
        try
        {
            using var document = JsonDocument.Parse(context.Body);
            var root = document.RootElement;
            id = ClientFrames.RequestId(root);
            token = TokenOf(root) ?? (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("data", out var data) ? TokenOf(data) : null);
        }
        catch (JsonException)
        {
        }

        if (string.IsNullOrEmpty(token) || authenticator.Jwt is not { } jwt)
        {
            return RouteResult.Reply(ClientFrames.Error("invalid_request", "a refresh carries the new JWT in \"token\"", id));
        }

        var connection = context.Connection;
        var current = connection.Identity;
        var (identity, failure) = await jwt.ValidateAsync(token, context.ConnectionClosed);
        failure ??= current is not null && current.Method != "jwt" ? "this connection did not authenticate with a JWT"
            : current is not null && identity!.UserId != current.UserId ? "the token names another user"
            : null;
        if (failure is not null)
        {
            Log.RefreshRefused(logger, connection.Id, failure);
            return RouteResult.Reply(ClientFrames.Error("unauthorized", $"token refused: {failure}", id));
        }

        connection.SetIdentity(identity, authenticator.CloseAt(identity));
        if (current?.UserId != identity!.UserId)
        {
            registry.UserChanged(connection, current?.UserId);
        }

        Log.Refreshed(logger, connection.Id);
        return RouteResult.Reply(ClientFrames.Typed("refreshed", id, w =>
        {
            if (identity!.ExpiresAt is { } expires)
            {
                w.WriteString("expiresAt", expires.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            }

            // A new resume token: it names the user as the connection is now (an anonymous one may have become a user).
            if (connection.IsResumable)
            {
                w.WriteString("resumeToken", resumeTokens.For(connection));
            }
        }));
    }

    private static string? TokenOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("token", out var t) ? Protocol.JsonStrings.ValueOrNull(t) : null;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1421, Level = LogLevel.Information, Message = "Connection {ConnectionId} refreshed its token")]
        public static partial void Refreshed(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 1422, Level = LogLevel.Information, Message = "Connection {ConnectionId}: token refresh refused ({Reason})")]
        public static partial void RefreshRefused(ILogger logger, string connectionId, string reason);
    }
}
