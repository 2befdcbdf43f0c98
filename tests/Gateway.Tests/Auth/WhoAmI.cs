using System.Text.Json;
using Gateway.Routing;

namespace Gateway.Tests.Auth;

/// <summary>Answers with who the caller is, as a C# handler sees it.</summary>
public sealed class WhoAmI : IGatewayRouteHandler
{
    public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context) =>
        ValueTask.FromResult(RouteResult.Reply(JsonSerializer.SerializeToUtf8Bytes(new
        {
            userId = context.Connection.UserId,
            sub = context.User.FindFirst("sub")?.Value,
            org = context.User.FindFirst("org_id")?.Value,
            authenticated = context.User.Identity?.IsAuthenticated ?? false,
            method = context.User.Identity?.AuthenticationType,
        })));
}
