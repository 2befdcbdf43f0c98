using Gateway.Connections;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// Keeps the management API and the dashboard on the management listener: elsewhere they answer a bare 404, as a
/// path the client listener does not serve.
/// </summary>
/// <param name="listeners">The gateway's listeners.</param>
internal sealed class ManagementListenerFilter(GatewayListeners listeners) : IEndpointFilter
{
    /// <inheritdoc />
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        return listeners.Accepts(context.HttpContext, GatewayListenerKind.Management)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.NotFound());
    }
}
