using Gateway.Backplane;
using Gateway.Connections;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// <c>POST /@connections/{id}</c>, the hot path of the management API, as one request delegate: the same steps, in
/// the same order, as the filters of the other <c>@connections</c> endpoints (the management listener only, the body
/// within its limit, the credentials, an <c>Idempotency-Key</c> when one is sent, 503 when other nodes cannot be
/// reached) and the same answers, without the filter pipeline and result machinery around them on every push.
/// </summary>
/// <param name="listeners">The gateway's listeners.</param>
/// <param name="access">Reads the body and checks the credentials.</param>
/// <param name="idempotency">Runs a call that carries an <c>Idempotency-Key</c>.</param>
/// <param name="sender">Delivers to a connection of any node.</param>
internal sealed class PushEndpoint(GatewayListeners listeners, ManagementAccessFilter access, IdempotencyFilter idempotency, ConnectionSender sender)
{
    /// <summary>The request delegate.</summary>
    public async Task InvokeAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!listeners.Accepts(http, GatewayListenerKind.Management))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (await access.AdmitAsync(http, message: true) is { } refused)
        {
            await refused.ExecuteAsync(http);
            return;
        }

        var id = (string)http.Request.RouteValues["id"]!;
        IResult answer;
        try
        {
            answer = http.Request.Headers.ContainsKey(IdempotencyFilter.Header)
                ? await idempotency.InvokeAsync(EndpointFilterInvocationContext.Create(http, id), async invocation => await PushAsync(invocation.GetArgument<string>(0), invocation.HttpContext)) as IResult
                    ?? throw new InvalidOperationException("The idempotency filter answered without a result.")
                : await PushAsync(id, http);
        }
        catch (BackplaneUnavailableException ex)
        {
            answer = access.Unavailable(http, ex);
        }

        await answer.ExecuteAsync(http);
    }

    private async Task<IResult> PushAsync(string id, HttpContext http)
    {
        if (!ConnectionId.IsWellFormed(id))
        {
            return ManagementError.BadId(id);
        }

        var result = await sender.SendAsync(id, ManagementBody.Message(ManagementBody.Of(http)), http.RequestAborted);
        return result == SendResult.Sent ? Ok : ManagementError.Of(id, result);
    }

    private static readonly IResult Ok = TypedResults.Ok();
}
