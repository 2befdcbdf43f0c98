using BenchmarkDotNet.Attributes;
using Gateway.Topics;

namespace Gateway.Benchmarks;

/// <summary>Serializing one topic event frame (done once per publish, whatever the number of subscribers).</summary>
[MemoryDiagnoser]
public class TopicFrameBenchmarks
{
    private readonly byte[] _data = """{"text":"a message of ordinary length for a chat application","author":"user-1","at":1764000000}"""u8.ToArray();

    [Benchmark]
    public byte[] Frame() => TopicFrames.Event("events.org_1.conversations.message_posted.conv_9", "message_posted", _data, 42);
}
