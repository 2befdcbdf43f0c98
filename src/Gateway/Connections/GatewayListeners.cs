using System.Net;
using Microsoft.AspNetCore.Http;

namespace Gateway.Connections;

/// <summary>
/// Which local endpoints are the client listener and which the management listener, so each endpoint
/// answers only on its own. When the host registers none (the gateway inside an application that binds
/// its own addresses), every endpoint answers on every listener.
/// </summary>
public sealed class GatewayListeners
{
    private readonly List<(GatewayListenerKind Kind, Func<EndPoint?> EndPoint)> _listeners = [];

    /// <summary>True when the host registered its listeners.</summary>
    public bool IsConfigured => _listeners.Count > 0;

    /// <summary>Registers a listener; <paramref name="endPoint"/> reads the bound address (known only after binding to port 0).</summary>
    public void Add(GatewayListenerKind kind, Func<EndPoint?> endPoint) => _listeners.Add((kind, endPoint));

    /// <summary>The bound endpoints of a kind of listener.</summary>
    public IEnumerable<IPEndPoint> EndPoints(GatewayListenerKind kind) =>
        _listeners.Where(l => (l.Kind & kind) != 0).Select(l => l.EndPoint()).OfType<IPEndPoint>();

    /// <summary>True when <paramref name="context"/> arrived on a listener of <paramref name="kind"/>.</summary>
    public bool Accepts(HttpContext context, GatewayListenerKind kind)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_listeners.Count == 0)
        {
            return true;
        }

        var port = context.Connection.LocalPort;
        foreach (var (listenerKind, endPoint) in _listeners)
        {
            if ((listenerKind & kind) != 0 && endPoint() is IPEndPoint ip && ip.Port == port)
            {
                return true;
            }
        }

        return false;
    }
}
