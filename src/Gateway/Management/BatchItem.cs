namespace Gateway.Management;

/// <summary>One item of <c>POST /@batch</c>, checked: exactly one target, and what it sends.</summary>
/// <param name="Index">Its place in the batch.</param>
/// <param name="Target">Which kind of target it has.</param>
/// <param name="Id">The connection id, user id or topic; empty for a broadcast.</param>
/// <param name="Type">A topic event's type.</param>
/// <param name="Payload">A topic event's data (one JSON value), or the message's bytes.</param>
/// <param name="Binary">True when the message is binary (<c>bodyBase64</c>).</param>
/// <param name="Exclude">Connections that do not receive it.</param>
internal sealed record BatchItem(int Index, BatchTarget Target, string Id, string Type, byte[] Payload, bool Binary, IReadOnlySet<string> Exclude);
