using System.Text.Json;

namespace Gateway.Client.Management;

/// <summary>A connection as <c>GET /@connections/{id}</c> describes it.</summary>
/// <param name="ConnectedAt">When it connected.</param>
/// <param name="Identity">Who opened it.</param>
/// <param name="LastActiveAt">When a data frame last went either way.</param>
/// <param name="Body">The whole answer, for members beyond Amazon's (<c>attributes</c>).</param>
public sealed record ConnectionInfo(DateTimeOffset ConnectedAt, ConnectionIdentity Identity, DateTimeOffset LastActiveAt, JsonElement Body);
