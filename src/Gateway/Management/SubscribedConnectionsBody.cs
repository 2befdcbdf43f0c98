using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>The answer of <c>PUT</c> and <c>DELETE /@users/{userId}/topics/{topic}</c>.</summary>
/// <param name="Connections">How many of the user's connections, on every node, were subscribed (or unsubscribed).</param>
public sealed record SubscribedConnectionsBody([property: JsonPropertyName("connections")] int Connections);
