using Gateway.Connections;

namespace Gateway.Topics;

/// <summary>
/// Told of each subscription a connection gains or loses on this node (an unsubscribe, or its connection closing), after
/// the hub's own work is done; what presence and webhooks keep track of. Calls must not wait.
/// </summary>
public interface ISubscriptionObserver
{
    /// <summary><paramref name="connection"/> now subscribes to <paramref name="pattern"/> (it did not before).</summary>
    void Subscribed(GatewayConnection connection, string pattern);

    /// <summary><paramref name="connection"/> no longer subscribes to <paramref name="pattern"/>.</summary>
    void Unsubscribed(GatewayConnection connection, string pattern);
}
