using Gateway.Topics;

namespace Gateway.Tests.Topics;

public sealed class SubscriptionIndexTests
{
    private sealed record Sub(string Name);

    [Theory]
    [InlineData("events.org_1.conversations.message_posted.conv_9", true)]
    [InlineData("conversation:conv-123", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData("a..b", false)]
    [InlineData(".a", false)]
    [InlineData("a.", false)]
    [InlineData("a.*", false)]
    [InlineData("a.>", false)]
    [InlineData("a b", false)]
    [InlineData("a.b*c", false)]
    [InlineData("a\u0001", false)]
    public void Concrete_topic_names(string name, bool valid) => Assert.Equal(valid, TopicName.IsValidName(name, 256));

    [Theory]
    [InlineData("a.*", true)]
    [InlineData("a.>", true)]
    [InlineData("*.*.>", true)]
    [InlineData(">", true)]
    [InlineData("a.>.b", false)]
    [InlineData("a.b>", false)]
    [InlineData("a.**", false)]
    [InlineData("a..*", false)]
    public void Patterns(string pattern, bool valid) => Assert.Equal(valid, TopicName.IsValidPattern(pattern, 256));

    [Fact]
    public void Names_longer_than_the_limit_are_refused() => Assert.False(TopicName.IsValidName(new string('a', 257), 256));

    [Theory]
    [InlineData("events.org_1.>", "events.org_1.conversations.x", true)]
    [InlineData("events.org_1.>", "events.org_1", false)]
    [InlineData("events.*.x", "events.org_1.x", true)]
    [InlineData("events.*.x", "events.org_1.y", false)]
    [InlineData("events.*", "events.org_1.x", false)]
    [InlineData(">", "anything.at.all", true)]
    [InlineData("conversation:conv-123", "conversation:conv-123", true)]
    [InlineData("conversation:conv-123", "conversation:conv-124", false)]
    public void Matching(string pattern, string topic, bool matches)
    {
        Assert.Equal(matches, TopicName.Matches(pattern, topic));
        using var index = new SubscriptionIndex<Sub>();
        var sub = new Sub("s");
        index.Add(pattern, sub);
        var found = new HashSet<Sub>();
        index.Match(topic, found);
        Assert.Equal(matches, found.Contains(sub));
    }

    [Theory]
    [InlineData("events.org_1.>", "events.org_1.*.message_posted", true)]
    [InlineData("events.org_1.>", "events.org_1.>", true)]
    [InlineData("events.org_1.>", "events.>", false)]
    [InlineData("events.org_1.>", "events.*.x", false)]
    [InlineData("events.*.x", "events.org_1.x", true)]
    [InlineData("events.*.x", "events.*.x", true)]
    [InlineData("events.*.x", "events.>", false)]
    [InlineData("events.org_1.x", "events.org_1.x", true)]
    [InlineData("events.org_1.x", "events.*.x", false)]
    [InlineData(">", "a.b.>", true)]
    public void A_granted_pattern_covers_a_requested_one_only_when_it_matches_everything_that_one_can(string granted, string requested, bool covers) =>
        Assert.Equal(covers, TopicName.Covers(granted, requested));

    [Theory]
    [InlineData("a.*", "a.>", true)]
    [InlineData("a.>", ">", true)]
    [InlineData("*.b", "a.*", true)]
    [InlineData("a.b", "a.b.>", false)]
    [InlineData(">", "x", true)]
    [InlineData("events.>", "events.>", true)]
    [InlineData("a.b", "a.b", true)]
    [InlineData("a.b", "a.c", false)]
    [InlineData("a.*", "a.b.c", false)]
    [InlineData("a.*.c", "a.b.>", true)]
    [InlineData("a.>", "b.>", false)]
    [InlineData("a", "a.>", false)]
    public void Two_patterns_overlap_when_some_topic_matches_both(string a, string b, bool overlap)
    {
        Assert.Equal(overlap, TopicName.Overlaps(a, b));
        Assert.Equal(overlap, TopicName.Overlaps(b, a));
    }

    [Fact]
    public void Overlapping_agrees_with_a_search_for_a_topic_matching_both_on_random_patterns()
    {
        var random = new Random(7);
        string[] words = ["a", "b"];
        string RandomPattern()
        {
            var parts = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(3) switch { 0 => "*", _ => words[random.Next(words.Length)] }).ToList();
            if (random.Next(3) == 0)
            {
                parts[^1] = ">";
            }

            return string.Join('.', parts);
        }

        // Every topic of up to four segments of a, b and c (a word no pattern names, for the wildcards): enough to find
        // a topic matching both of two patterns of up to three segments when there is one.
        string[] segments = ["a", "b", "c"];
        var topics = new List<string>();
        var level = new List<string> { "" };
        for (var length = 1; length <= 4; length++)
        {
            level = [.. level.SelectMany(prefix => segments.Select(w => prefix.Length == 0 ? w : prefix + "." + w))];
            topics.AddRange(level);
        }

        var overlapping = 0;
        for (var i = 0; i < 500; i++)
        {
            var a = RandomPattern();
            var b = RandomPattern();
            var expected = topics.Any(t => TopicName.Matches(a, t) && TopicName.Matches(b, t));
            Assert.True(expected == TopicName.Overlaps(a, b), $"{a} and {b}");
            overlapping += expected ? 1 : 0;
        }

        Assert.InRange(overlapping, 50, 450); // both answers were asked for
    }

    [Fact]
    public void A_subscriber_matched_by_several_patterns_is_found_once_and_removal_prunes()
    {
        using var index = new SubscriptionIndex<Sub>();
        var a = new Sub("a");
        var b = new Sub("b");
        Assert.True(index.Add("events.org_1.>", a));
        Assert.True(index.Add("events.*.message", a));
        Assert.True(index.Add("events.org_1.message", a));
        Assert.False(index.Add("events.org_1.message", a));
        Assert.True(index.Add("events.org_1.message", b));
        Assert.Equal(4, index.Count);

        var found = new HashSet<Sub>();
        index.Match("events.org_1.message", found);
        Assert.Equal([a, b], found.OrderBy(s => s.Name));

        Assert.True(index.Remove("events.org_1.>", a));
        Assert.False(index.Remove("events.org_1.>", a));
        Assert.True(index.Remove("events.*.message", a));
        Assert.True(index.Remove("events.org_1.message", a));
        Assert.True(index.Remove("events.org_1.message", b));
        Assert.Equal(0, index.Count);
        found.Clear();
        index.Match("events.org_1.message", found);
        Assert.Empty(found);
    }

    [Fact]
    public void Matching_agrees_with_the_reference_on_random_patterns()
    {
        var random = new Random(42);
        string[] words = ["a", "b", "c"];
        string RandomPattern()
        {
            var n = random.Next(1, 4);
            var parts = Enumerable.Range(0, n).Select(_ => random.Next(5) switch { 0 => "*", _ => words[random.Next(words.Length)] }).ToList();
            if (random.Next(4) == 0)
            {
                parts[^1] = ">";
            }

            return string.Join('.', parts);
        }

        using var index = new SubscriptionIndex<Sub>();
        var patterns = new List<(string Pattern, Sub Sub)>();
        for (var i = 0; i < 300; i++)
        {
            var p = RandomPattern();
            var s = new Sub($"s{i % 50}");
            if (index.Add(p, s))
            {
                patterns.Add((p, s));
            }
        }

        for (var i = 0; i < 300; i++)
        {
            var topic = string.Join('.', Enumerable.Range(0, random.Next(1, 5)).Select(_ => words[random.Next(words.Length)]));
            var found = new HashSet<Sub>();
            index.Match(topic, found);
            var expected = patterns.Where(p => TopicName.Matches(p.Pattern, topic)).Select(p => p.Sub).ToHashSet();
            Assert.True(expected.SetEquals(found), topic);
        }
    }

    [Fact]
    public void The_most_subscribed_patterns_come_first_with_their_counts_and_follow_removals()
    {
        using var index = new SubscriptionIndex<Sub>();
        var subs = Enumerable.Range(0, 10).Select(i => new Sub("s" + i)).ToArray();
        foreach (var (pattern, count) in new[] { ("news.>", 5), ("news.*", 3), ("a.b", 3), ("*", 1), (">", 7) })
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(index.Add(pattern, subs[i]));
            }
        }

        var (top, patterns) = index.Patterns(3);
        Assert.Equal(5, patterns);
        Assert.Equal([new(">", 7), new("news.>", 5), new("a.b", 3)], top); // equal counts by name

        Assert.True(index.Remove(">", subs[0]));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(index.Remove("news.>", subs[i]));
        }

        (top, patterns) = index.Patterns(10);
        Assert.Equal([new(">", 6), new("a.b", 3), new("news.*", 3), new("news.>", 2), new("*", 1)], top);
        Assert.Equal(5, patterns);
        Assert.True(index.Remove("*", subs[0]));
        Assert.Equal(4, index.Patterns(10).Patterns);
    }

    [Fact]
    public void Patterns_after_a_key_come_in_order_with_their_counts_and_the_count_of_those_matching_the_prefix()
    {
        using var index = new SubscriptionIndex<Sub>();
        var (one, two) = (new Sub("1"), new Sub("2"));
        foreach (var pattern in new[] { "room.c", "room.a", "room.*", "lobby", "room.b" })
        {
            index.Add(pattern, one);
        }

        index.Add("room.a", two);
        index.Remove("room.b", one);

        var (page, matching) = index.PatternsAfter("room.", "", 2);
        Assert.Equal([KeyValuePair.Create("room.*", 1), KeyValuePair.Create("room.a", 2)], page);
        Assert.Equal(3, matching);
        Assert.Equal(["room.c"], index.PatternsAfter("room.", "room.a", 2).Page.Select(p => p.Key));
        Assert.Equal(["lobby", "room.*", "room.a", "room.c"], index.PatternsAfter("", "", 10).Page.Select(p => p.Key));
        Assert.Empty(index.PatternsAfter("hall", "", 10).Page);
    }
}
