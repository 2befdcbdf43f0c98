using System.Text;

namespace Gateway.Routing.Handlers;

/// <summary>
/// The built-in <c>mock</c> handler: answers with a configured static response. On <c>$connect</c> its
/// status code accepts (2xx) or rejects the handshake.
/// </summary>
public sealed class MockHandler : IGatewayRouteHandler
{
    private readonly byte[]? _response;
    private readonly int _statusCode;

    /// <summary>Creates a mock answering <paramref name="response"/> (none when empty) with <paramref name="statusCode"/>.</summary>
    public MockHandler(string? response, int statusCode)
    {
        _response = string.IsNullOrEmpty(response) ? null : Encoding.UTF8.GetBytes(response);
        _statusCode = statusCode;
    }

    /// <inheritdoc />
    public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var result = new RouteResult
        {
            StatusCode = _statusCode,
            Response = context.EventType == RouteEventType.Message && _response is not null ? _response : null,
        };
        return ValueTask.FromResult(result);
    }
}
