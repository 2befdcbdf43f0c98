namespace Gateway.Connections;

/// <summary>
/// The topic patterns a connection follows, as descriptions of a connection show them (management API, dashboard,
/// across nodes), whatever part keeps them: the feature that holds subscriptions registers itself under this type.
/// </summary>
public interface ISubscriptionList
{
    /// <summary>The patterns, in no particular order.</summary>
    string[] Snapshot();
}
