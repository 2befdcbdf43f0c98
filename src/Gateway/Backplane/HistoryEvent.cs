namespace Gateway.Backplane;

/// <summary>An event to number and keep in a topic's shared history, and to hand to every node.</summary>
/// <param name="Topic">The concrete topic.</param>
/// <param name="Type">The event's type.</param>
/// <param name="Data">The event's data: one JSON value in UTF-8.</param>
/// <param name="FramePrefix">The client frame without its closing brace, for a store that appends <c>,"offset":n}</c> itself.</param>
/// <param name="Size">Events kept per topic.</param>
/// <param name="Ttl">How long events are kept.</param>
/// <param name="From">Who published it when a client did (already in <paramref name="FramePrefix"/>), for a store that keeps the data and type and makes the frame again; else null.</param>
public sealed record HistoryEvent(string Topic, string Type, byte[] Data, byte[] FramePrefix, int Size, TimeSpan Ttl, EventOrigin? From = null);
