using System.Text;

namespace Gateway.Integrations;

/// <summary>Reads the events of a streamed answer: server-sent events (<c>text/event-stream</c>) or NDJSON lines (<c>application/x-ndjson</c>).</summary>
public static class StreamEventReader
{
    /// <summary>True for a content type that is relayed as a stream.</summary>
    public static bool IsStream(string? mediaType) =>
        string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase)
        || string.Equals(mediaType, "application/x-ndjson", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads events from <paramref name="body"/>: SSE <c>data:</c> blocks, or NDJSON lines.</summary>
    public static async IAsyncEnumerable<string> ReadEventsAsync(Stream body, bool serverSentEvents, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var reader = new StreamReader(body, Encoding.UTF8);
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!serverSentEvents)
            {
                if (line.Length > 0)
                {
                    yield return line;
                }

                continue;
            }

            if (line.Length == 0)
            {
                // A blank line ends an event; "[DONE]" is the end marker some model APIs send, not an event.
                if (hasData && data.ToString() is var value && value != "[DONE]")
                {
                    yield return value;
                }

                data.Clear();
                hasData = false;
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (hasData)
                {
                    data.Append('\n');
                }

                data.Append(line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5));
                hasData = true;
            }

            // "event:", "id:", "retry:" and ":" comments carry nothing the client frames need.
        }

        if (hasData && data.ToString() is var last && last != "[DONE]")
        {
            yield return last;
        }
    }
}
