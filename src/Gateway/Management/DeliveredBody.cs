using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>The answer of <c>POST /@topics/{topic}</c>, <c>/@users/{userId}</c> and <c>/@broadcast</c>.</summary>
/// <param name="Delivered">How many connections of this node took it.</param>
public sealed record DeliveredBody([property: JsonPropertyName("delivered")] int Delivered);
