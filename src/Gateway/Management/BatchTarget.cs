namespace Gateway.Management;

/// <summary>The target of a batch item.</summary>
internal enum BatchTarget
{
    /// <summary><c>connectionId</c>: as <c>POST /@connections/{id}</c>.</summary>
    Connection,

    /// <summary><c>userId</c>: as <c>POST /@users/{userId}</c>.</summary>
    User,

    /// <summary><c>topic</c>: as <c>POST /@topics/{topic}</c>.</summary>
    Topic,

    /// <summary><c>"broadcast": true</c>: as <c>POST /@broadcast</c>.</summary>
    Broadcast,
}
