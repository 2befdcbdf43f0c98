using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// What a client read of a burst of pushes (text <c>p{n}</c>) and topic events (data <c>n</c>), each kind in the order
/// it came, with the offset of the last event: for checking that nothing was lost, doubled or reordered.
/// </summary>
public sealed class BurstLog
{
    public List<int> Pushes { get; } = [];

    public List<int> Events { get; } = [];

    public long LastOffset { get; private set; }

    /// <summary>Frames read so far.</summary>
    public int Count => Pushes.Count + Events.Count;

    public void Take(RawFrame frame)
    {
        var text = Encoding.UTF8.GetString(frame.Payload);
        if (text.StartsWith('p'))
        {
            Pushes.Add(int.Parse(text[1..], System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        var e = JsonDocument.Parse(text).RootElement;
        Events.Add(e.GetProperty("data").GetInt32());
        if (e.TryGetProperty("offset", out var offset))
        {
            LastOffset = offset.GetInt64();
        }
    }
}
