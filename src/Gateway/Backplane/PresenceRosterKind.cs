namespace Gateway.Backplane;

/// <summary>Which roster a presence message is about: the kind byte of its <see cref="BackplaneMessage"/>.</summary>
internal enum PresenceRosterKind : byte
{
    /// <summary>The members of topics with presence.</summary>
    Members = 0,

    /// <summary>The nodes that have subscribers of topics with occupancy webhooks.</summary>
    Occupancy = 1,
}
