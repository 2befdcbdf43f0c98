using BenchmarkDotNet.Attributes;
using Gateway.Topics;

namespace Gateway.Benchmarks;

/// <summary>
/// One publish's subscriber lookup with 10 and with 10,000 patterns subscribed, the matched set the same (six
/// subscribers through exact, <c>*</c> and <c>&gt;</c> patterns, one of them matched twice): the cost must not grow with
/// the number of subscriptions.
/// </summary>
[MemoryDiagnoser]
public class TopicMatchBenchmarks : IDisposable
{
    private const string Topic = "events.org_1.conversations.message_posted.conv_9";
    private readonly HashSet<object> _matched = new(ReferenceEqualityComparer.Instance);
    private SubscriptionIndex<object> _index = null!;

    [Params(10, 10_000)]
    public int Patterns { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _index = new SubscriptionIndex<object>();
        var matching = new[]
        {
            "events.org_1.conversations.message_posted.conv_9",
            "events.org_1.>",
            "events.*.conversations.message_posted.*",
            "events.org_1.conversations.*.conv_9",
            ">",
            "events.org_1.conversations.>",
        };
        var subscribers = Enumerable.Range(0, matching.Length).Select(_ => new object()).ToArray();
        for (var i = 0; i < matching.Length; i++)
        {
            _index.Add(matching[i], subscribers[i]);
        }

        _index.Add("events.org_1.conversations.message_posted.conv_9", subscribers[1]); // matched twice, found once

        // The rest match nothing: other organisations, other conversations, other event types, wildcards elsewhere.
        for (var i = 0; _index.Count < Patterns; i++)
        {
            var pattern = (i % 4) switch
            {
                0 => $"events.org_{i + 2}.conversations.message_posted.conv_{i}",
                1 => $"events.org_{i + 2}.>",
                2 => $"events.org_1.conversations.message_posted.conv_{i + 10}",
                _ => $"events.*.conversations.typing.conv_{i}",
            };
            _index.Add(pattern, new object());
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _index.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public int Match()
    {
        _index.Match(Topic, _matched);
        var count = _matched.Count;
        _matched.Clear();
        return count == 6 ? count : throw new InvalidOperationException($"matched {count}, expected 6");
    }
}
