using System.Globalization;
using System.Text;

namespace Gateway.Backplane;

/// <summary>An event of a shared history as every node receives it: its topic, epoch, offset, when it was numbered, and its frame.</summary>
/// <param name="Topic">The concrete topic.</param>
/// <param name="Epoch">The epoch of the topic's history.</param>
/// <param name="Offset">Its offset in the epoch.</param>
/// <param name="At">When the store numbered it.</param>
/// <param name="Frame">The client frame, offset included.</param>
public sealed record SharedTopicEvent(string Topic, string Epoch, long Offset, DateTimeOffset At, byte[] Frame)
{
    /// <summary>
    /// Reads <c>epoch \n offset \n unix-ms \n topic \n frame</c>, the form a store that numbers events in a script
    /// (Redis's) publishes them in; null when the bytes are not one.
    /// </summary>
    public static SharedTopicEvent? FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var fields = new string[4];
        var at = 0;
        for (var i = 0; i < 4; i++)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', at);
            if (end < 0)
            {
                return null;
            }

            fields[i] = Encoding.UTF8.GetString(bytes, at, end - at);
            at = end + 1;
        }

        return long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            && long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms <= 253402300799999
            ? new SharedTopicEvent(fields[3], fields[0], offset, DateTimeOffset.FromUnixTimeMilliseconds(ms), bytes[at..])
            : null;
    }
}
