using Gateway.Backplane;
using Gateway.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Management;

/// <summary>
/// <c>POST /@connections/{id}</c>, the management API's hot path, as one request delegate rather than a route handler
/// behind the three endpoint filters of the other calls. It takes the same steps in the same order, each answered as
/// the filter answers it: the management listener only (<see cref="ManagementListenerFilter"/>), the body within its
/// limit and the credentials, and 503 when other nodes cannot be reached (<see cref="ManagementAccessFilter"/>), an
/// <c>Idempotency-Key</c> (through <see cref="IdempotencyFilter"/> itself), then the id and the push. A push without a
/// key so makes no invocation context, no filter calls and no boxed result.
/// </summary>
/// <param name="listeners">The gateway's listeners.</param>
/// <param name="access">Reads the body and checks the credentials.</param>
/// <param name="idempotency">Answers a call with an <c>Idempotency-Key</c>.</param>
/// <param name="sender">Delivers the push.</param>
internal sealed class PushEndpoint(GatewayListeners listeners, ManagementAccessFilter access, IdempotencyFilter idempotency, ConnectionSender sender)
{
    /// <summary>The route value that holds the connection id.</summary>
    public const string IdValue = "id";

    /// <summary>Answers one push.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!listeners.Accepts(context, GatewayListenerKind.Management))
        {
            // As the other management calls answer elsewhere: a path the client listener does not serve.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var (body, refused) = await access.AdmitAsync(context);
        var answer = refused ?? await RunAsync(context, body!);
        await answer.ExecuteAsync(context);
    }

    private async ValueTask<IResult> RunAsync(HttpContext context, byte[] body)
    {
        var id = context.GetRouteValue(IdValue) as string ?? "";
        try
        {
            if (!context.Request.Headers.ContainsKey(IdempotencyFilter.Header))
            {
                return await ConnectionEndpoints.PushAsync(id, body, context, sender);
            }

            var invocation = new DefaultEndpointFilterInvocationContext(context, id);
            var answer = await idempotency.InvokeAsync(invocation, async _ => await ConnectionEndpoints.PushAsync(id, body, context, sender));
            return (IResult)answer!;
        }
        catch (BackplaneUnavailableException ex)
        {
            return access.Unavailable(context, ex);
        }
    }
}
