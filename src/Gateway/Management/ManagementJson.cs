using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>Source-generated serialization for the management API's bodies.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(ConnectionBody))]
[JsonSerializable(typeof(ConnectionListBody))]
[JsonSerializable(typeof(DeliveredBody))]
[JsonSerializable(typeof(BatchBody))]
[JsonSerializable(typeof(Dictionary<string, string?>))]
internal sealed partial class ManagementJson : JsonSerializerContext;
