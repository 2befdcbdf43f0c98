using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>Source-generated serialization for the management API's bodies.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(ConnectionBody))]
[JsonSerializable(typeof(ConnectionListBody))]
[JsonSerializable(typeof(DeliveredBody))]
[JsonSerializable(typeof(SubscribedConnectionsBody))]
[JsonSerializable(typeof(ClusterConnectionListBody))]
[JsonSerializable(typeof(UserBody))]
[JsonSerializable(typeof(ClosedBody))]
[JsonSerializable(typeof(TopicBody))]
[JsonSerializable(typeof(TopicListBody))]
[JsonSerializable(typeof(BatchBody))]
[JsonSerializable(typeof(Dictionary<string, string?>))]
internal sealed partial class ManagementJson : JsonSerializerContext;
