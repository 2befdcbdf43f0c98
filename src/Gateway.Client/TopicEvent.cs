using System.Text.Json;

namespace Gateway.Client;

/// <summary>One event of a topic, as the gateway sent it: <c>{"type","channel","data","offset"?,"from"?}</c>.</summary>
/// <param name="Channel">The topic the event was published to (a subscription to a pattern sees each topic's name).</param>
/// <param name="Type">The event's type.</param>
/// <param name="Data">The event's data (a detached copy; <c>Undefined</c> when the frame had none).</param>
/// <param name="Offset">The event's offset where the topic keeps history, else null.</param>
/// <param name="Frame">The whole frame as received.</param>
public sealed record TopicEvent(string Channel, string Type, JsonElement Data, long? Offset, string Frame);
