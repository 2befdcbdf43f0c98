using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary><c>GET /@connections/{id}</c>, in Amazon's lower-case wire names (the SDKs map them to <c>ConnectedAt</c>…).</summary>
/// <param name="ConnectedAt">ISO-8601, UTC.</param>
/// <param name="Identity">Where the client came from.</param>
/// <param name="LastActiveAt">ISO-8601, UTC.</param>
/// <param name="Attributes">Data attached to the connection (beyond Amazon's answer; absent when none).</param>
public sealed record ConnectionBody(
    [property: JsonPropertyName("connectedAt")] string ConnectedAt,
    [property: JsonPropertyName("identity")] IdentityBody Identity,
    [property: JsonPropertyName("lastActiveAt")] string LastActiveAt,
    [property: JsonPropertyName("attributes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Attributes = null);
