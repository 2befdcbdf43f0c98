using System.Diagnostics;
using System.Globalization;
using Gateway.Tests.Backplane;
using Gateway.Tests.Infrastructure;
using Gateway.Topics;
using NATS.Client.Core;
using Xunit.Abstractions;

namespace Gateway.Tests.Topics;

/// <summary>
/// The gateway's wildcard matching (<see cref="SubscriptionIndex{T}"/> and <see cref="TopicName.Matches"/>) against
/// nats-server's own, on thousands of subject and pattern pairs generated from a fixed seed: every distinct pattern is
/// subscribed on a real nats-server, every distinct subject published once, and what the server delivered is compared
/// with what the gateway answers, for the generated pairs and for every other pattern and subject among them.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsWildcardMatrixTests(SharedNatsServer server, ITestOutputHelper output) : IClassFixture<SharedNatsServer>
{
    private const int Seed = 20_260_611;
    private const int PairCount = 3_000;
    private const int MaxDepth = 8;
    private const int MaxLength = 256;

    // Names that share segments, so that patterns made from one subject meet many others: ':' inside names, '_' and
    // '-', near prefixes of each other, other cases, and a few characters NATS and the gateway both take literally.
    private static readonly string[] Vocabulary =
    [
        "events", "Events", "org_1", "org_12", "org-2", "conversations", "conversation", "conversation:conv-123",
        "conversation:conv-124", "message_posted", "conv_456", "conv-456", "user:42", "a", "ab", "b", "x-y", "x_y",
        "_", "-", ":", "__", "::", "a:b:c", "1", "42", "é", "naïve", "#", "+", "@home", "~",
    ];

    [Fact]
    public async Task The_gateway_matches_exactly_what_nats_server_delivers()
    {
        var clock = Stopwatch.StartNew();
        var pairs = Generate();
        var patterns = pairs.Select(p => p.Pattern).Distinct(StringComparer.Ordinal).ToList();
        var subjects = pairs.Select(p => p.Subject).Distinct(StringComparer.Ordinal).ToList();
        Assert.DoesNotContain(subjects, s => !TopicName.IsValidName(s, MaxLength));
        Assert.DoesNotContain(patterns, p => !TopicName.IsValidPattern(p, MaxLength));

        var delivered = await DeliverAsync(patterns, subjects);
        var indexed = Index(patterns, subjects);
        var patternOf = patterns.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i, StringComparer.Ordinal);
        var subjectOf = subjects.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i, StringComparer.Ordinal);

        // The generated pairs, and every pattern and subject among them that either side says match (the rest of the
        // cross product is compared as sets below: what nats-server delivered to a subject against what the index found).
        var mismatches = new List<string>();
        var compared = new HashSet<(int Pattern, int Subject)>();
        var (matches, nonMatches) = (0, 0);
        foreach (var (pattern, subject) in pairs)
        {
            var answer = Compare(patternOf[pattern], subjectOf[subject]);
            matches += answer ? 1 : 0;
            nonMatches += answer ? 0 : 1;
        }

        for (var s = 0; s < subjects.Count; s++)
        {
            foreach (var p in delivered[s].Union(indexed[s]))
            {
                Compare(p, s);
            }
        }

        var crossProduct = (long)patterns.Count * subjects.Count;
        var crossMatches = delivered.Sum(d => (long)d.Count);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{pairs.Count} pairs ({matches} match, {nonMatches} do not) of {patterns.Count} patterns and {subjects.Count} subjects; " +
            $"cross product {crossProduct} pairs, {crossMatches} deliveries; {clock.ElapsedMilliseconds} ms"));
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} pairs answered differently, the first:\n{string.Join('\n', mismatches.Take(20))}");
        Assert.True(pairs.Count >= 2_000, $"{pairs.Count} pairs");
        Assert.True(matches >= 500, $"{matches} pairs match");
        Assert.True(nonMatches >= 500, $"{nonMatches} pairs do not match");

        // nats-server's answer for a pair, after checking that the gateway's two answers are the same.
        bool Compare(int p, int s)
        {
            var nats = delivered[s].Contains(p);
            var index = indexed[s].Contains(p);
            var byName = TopicName.Matches(patterns[p], subjects[s]);
            if (compared.Add((p, s)) && (nats != index || nats != byName))
            {
                mismatches.Add($"pattern '{patterns[p]}', subject '{subjects[s]}': nats-server {nats}, SubscriptionIndex {index}, TopicName.Matches {byName}");
            }

            return nats;
        }
    }

    /// <summary>For each subject, the patterns nats-server delivered it to: one subscription per pattern, one publish per subject.</summary>
    private async Task<HashSet<int>[]> DeliverAsync(List<string> patterns, List<string> subjects)
    {
        // Room for every subject in each subscription's channel: a '>' gets them all before any is read.
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Server.Url, SubPendingChannelCapacity = subjects.Count + 1 });
        var dropped = 0;
        nats.MessageDropped += (_, _) =>
        {
            Interlocked.Increment(ref dropped);
            return ValueTask.CompletedTask;
        };
        await nats.ConnectAsync();
        var subscriptions = new List<INatsSub<string>>(patterns.Count);
        try
        {
            foreach (var pattern in patterns)
            {
                subscriptions.Add(await nats.SubscribeCoreAsync<string>(pattern));
            }

            for (var s = 0; s < subjects.Count; s++)
            {
                await nats.PublishAsync(subjects[s], s.ToString(CultureInfo.InvariantCulture));
            }

            // The server handles a connection's messages in order and writes the PONG to a PING sent after the publishes
            // behind every delivery they made on the same connection; a second round that finds nothing confirms it.
            var delivered = subjects.Select(_ => new HashSet<int>()).ToArray();
            var found = -1;
            while (found != 0)
            {
                await nats.PingAsync();
                found = 0;
                for (var p = 0; p < subscriptions.Count; p++)
                {
                    while (subscriptions[p].Msgs.TryRead(out var message))
                    {
                        var s = int.Parse(message.Data!, CultureInfo.InvariantCulture);
                        Assert.Equal(subjects[s], message.Subject);
                        Assert.True(delivered[s].Add(p), $"'{subjects[s]}' was delivered twice to '{patterns[p]}'");
                        found++;
                    }
                }
            }

            Assert.Equal(0, Volatile.Read(ref dropped));
            return delivered;
        }
        finally
        {
            foreach (var subscription in subscriptions)
            {
                await subscription.DisposeAsync();
            }
        }
    }

    /// <summary>For each subject, the patterns the gateway's subscription index finds for it.</summary>
    private static HashSet<int>[] Index(List<string> patterns, List<string> subjects)
    {
        using var index = new SubscriptionIndex<Subscriber>();
        for (var p = 0; p < patterns.Count; p++)
        {
            Assert.True(index.Add(patterns[p], new Subscriber(p)));
        }

        var found = new HashSet<Subscriber>();
        return [.. subjects.Select(subject =>
        {
            found.Clear();
            index.Match(subject, found);
            return found.Select(f => f.Pattern).ToHashSet();
        })];
    }

    private static List<(string Pattern, string Subject)> Generate()
    {
        var random = new Random(Seed);
        var seen = new HashSet<(string, string)>();
        var pairs = new List<(string Pattern, string Subject)>(PairCount);
        while (pairs.Count < PairCount)
        {
            var depth = random.Next(4) == 0 ? 1 : random.Next(2, MaxDepth + 1);
            var subject = Enumerable.Range(0, depth).Select(_ => Segment(random)).ToArray();
            var pair = (string.Join('.', PatternFor(random, subject)), string.Join('.', subject));
            if (seen.Add(pair))
            {
                pairs.Add(pair);
            }
        }

        return pairs;
    }

    private static List<string> PatternFor(Random random, string[] subject) => random.Next(100) switch
    {
        < 10 => [.. subject],
        < 30 => Stars(random, subject, subject.Length),
        < 50 => Tail(random, subject),
        < 90 => Mutate(random, random.Next(2) == 0 ? Stars(random, subject, subject.Length) : Tail(random, subject)),
        _ => RandomPattern(random),
    };

    /// <summary>The first <paramref name="count"/> segments of the subject, some of them <c>*</c>.</summary>
    private static List<string> Stars(Random random, string[] subject, int count) =>
        [.. subject.Take(count).Select(segment => random.Next(3) == 0 ? "*" : segment)];

    /// <summary>None or some of the subject's first segments, then <c>&gt;</c>: a match unless it took them all.</summary>
    private static List<string> Tail(Random random, string[] subject) => [.. Stars(random, subject, random.Next(subject.Length + 1)), ">"];

    /// <summary>A near miss (mostly): one change to a pattern that matches, or that takes every segment before <c>&gt;</c>.</summary>
    private static List<string> Mutate(Random random, List<string> pattern)
    {
        var tail = pattern[^1] == ">";
        var body = tail ? pattern.Count - 1 : pattern.Count;
        var literals = Enumerable.Range(0, body).Where(i => pattern[i] != "*").ToList();
        switch (random.Next(5))
        {
            case 0 when literals.Count > 0:
                var changed = literals[random.Next(literals.Count)];
                pattern[changed] = Other(random, pattern[changed]);
                break;
            case 0 or 1:
                // One segment more, before any '>'.
                pattern.Insert(random.Next(body + 1), random.Next(2) == 0 ? "*" : Segment(random));
                break;
            case 2 when body > 0 && pattern.Count > 1:
                pattern.RemoveAt(random.Next(body));
                break;
            case 2 or 3 when literals.Count > 0:
                // A literal one character longer or shorter: a prefix is not a match.
                var cut = literals[random.Next(literals.Count)];
                pattern[cut] = pattern[cut].Length > 1 && random.Next(2) == 0 ? pattern[cut][..^1] : pattern[cut] + "x";
                break;
            default:
                pattern[^1] = tail ? "*" : ">";
                break;
        }

        return pattern;
    }

    private static List<string> RandomPattern(Random random)
    {
        var pattern = Enumerable.Range(0, random.Next(1, MaxDepth + 1)).Select(_ => random.Next(3) == 0 ? "*" : Segment(random)).ToList();
        if (random.Next(4) == 0)
        {
            pattern[^1] = ">";
        }

        return pattern;
    }

    private static string Segment(Random random)
    {
        if (random.Next(5) > 0)
        {
            return Vocabulary[random.Next(Vocabulary.Length)];
        }

        const string alphabet = "abz09_-:";
        return new string([.. Enumerable.Range(0, random.Next(1, 5)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
    }

    private static string Other(Random random, string segment)
    {
        var other = Segment(random);
        while (other == segment)
        {
            other = Segment(random);
        }

        return other;
    }

    private sealed record Subscriber(int Pattern);
}
