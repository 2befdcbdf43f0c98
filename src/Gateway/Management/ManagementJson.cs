using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>The message of an error answer.</summary>
/// <param name="Message">What went wrong.</param>
public sealed record ErrorBody([property: JsonPropertyName("message")] string Message);

/// <summary>The client half of <see cref="ConnectionBody"/>.</summary>
/// <param name="SourceIp">The client address.</param>
/// <param name="UserAgent">The client's user agent, null when none was sent.</param>
public sealed record IdentityBody(
    [property: JsonPropertyName("sourceIp")] string SourceIp,
    [property: JsonPropertyName("userAgent")] string? UserAgent);

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

/// <summary>One connection in <c>GET /@connections</c>.</summary>
/// <param name="ConnectionId">The id.</param>
/// <param name="ConnectedAt">ISO-8601, UTC.</param>
/// <param name="Identity">Where the client came from.</param>
/// <param name="LastActiveAt">ISO-8601, UTC.</param>
public sealed record ConnectionItem(
    [property: JsonPropertyName("connectionId")] string ConnectionId,
    [property: JsonPropertyName("connectedAt")] string ConnectedAt,
    [property: JsonPropertyName("identity")] IdentityBody Identity,
    [property: JsonPropertyName("lastActiveAt")] string LastActiveAt);

/// <summary><c>GET /@connections</c>: a page of this node's connections, in id order.</summary>
/// <param name="Count">All connections of this node.</param>
/// <param name="Items">This page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last.</param>
public sealed record ConnectionListBody(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("items")] IReadOnlyList<ConnectionItem> Items,
    [property: JsonPropertyName("nextCursor")] string? NextCursor);

/// <summary>Source-generated serialization for the management API's bodies.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(ConnectionBody))]
[JsonSerializable(typeof(ConnectionListBody))]
[JsonSerializable(typeof(Dictionary<string, string?>))]
internal sealed partial class ManagementJson : JsonSerializerContext;
