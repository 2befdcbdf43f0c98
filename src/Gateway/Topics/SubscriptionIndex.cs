namespace Gateway.Topics;

/// <summary>
/// Subscriptions by pattern, in a trie of segments: a publish walks one path per matching branch (the literal segment,
/// <c>*</c>, and <c>&gt;</c> at each level), so its cost depends on the topic's depth and the branches that match, not on
/// how many subscriptions exist. Subscribers matched by several patterns are reported once. Readers share a lock that
/// only subscribe and unsubscribe take exclusively; nothing is sent while it is held.
/// </summary>
/// <typeparam name="T">The subscriber (a connection), compared by reference.</typeparam>
public sealed class SubscriptionIndex<T> : IDisposable
    where T : class
{
    private readonly Node _root = new(null, "");
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);

    // Subscribers per pattern, kept as subscriptions come and go (under the write lock), read without the lock.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _perPattern = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>Subscriptions held (pattern and subscriber pairs).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds a subscription; false when the subscriber already had this pattern.</summary>
    public bool Add(string pattern, T subscriber)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(subscriber);
        _lock.EnterWriteLock();
        try
        {
            var (node, rest) = Walk(pattern, create: true);
            var set = rest ? node!.Rest ??= new HashSet<T>(ReferenceEqualityComparer.Instance) : node!.Here ??= new HashSet<T>(ReferenceEqualityComparer.Instance);
            if (!set.Add(subscriber))
            {
                return false;
            }

            Interlocked.Increment(ref _count);
            _perPattern[pattern] = set.Count;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes a subscription; false when there was none.</summary>
    public bool Remove(string pattern, T subscriber)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(subscriber);
        _lock.EnterWriteLock();
        try
        {
            var (node, rest) = Walk(pattern, create: false);
            var set = rest ? node?.Rest : node?.Here;
            if (node is null || set is null || !set.Remove(subscriber))
            {
                return false;
            }

            Interlocked.Decrement(ref _count);
            if (set.Count > 0)
            {
                _perPattern[pattern] = set.Count;
            }
            else
            {
                _perPattern.TryRemove(pattern, out _);
                if (rest)
                {
                    node.Rest = null;
                }
                else
                {
                    node.Here = null;
                }
            }

            Prune(node);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Adds to <paramref name="into"/> every subscriber with a pattern that matches the concrete <paramref name="topic"/>.</summary>
    public void Match(string topic, HashSet<T> into)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(into);
        _lock.EnterReadLock();
        try
        {
            Match(_root, topic.AsSpan(), into);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// The <paramref name="max"/> most subscribed patterns and their subscriber counts, the most subscribed first, and
    /// how many patterns there are in all. Read from counts kept as subscriptions change: no lock is taken, nothing
    /// waits for it, and it costs one pass over the patterns with a heap of <paramref name="max"/>.
    /// </summary>
    public (List<KeyValuePair<string, int>> Top, int Patterns) Patterns(int max)
    {
        // A min-heap of the best so far: its root is the first to give way.
        var heap = new PriorityQueue<KeyValuePair<string, int>, KeyValuePair<string, int>>(max + 1, Comparer<KeyValuePair<string, int>>.Create(static (a, b) =>
            a.Value != b.Value ? a.Value.CompareTo(b.Value) : string.CompareOrdinal(b.Key, a.Key)));
        var patterns = 0;
        foreach (var entry in _perPattern)
        {
            patterns++;
            heap.Enqueue(entry, entry);
            if (heap.Count > max)
            {
                heap.Dequeue();
            }
        }

        var top = new List<KeyValuePair<string, int>>(heap.Count);
        while (heap.Count > 0)
        {
            top.Add(heap.Dequeue());
        }

        top.Reverse();
        return (top, patterns);
    }

    /// <summary>
    /// The patterns starting with <paramref name="prefix"/> that sort (ordinally) after <paramref name="after"/>, the
    /// first <paramref name="max"/> of them in order with their subscriber counts, and how many start with the prefix
    /// in all. Read from the counts kept as subscriptions change, without the lock, with a heap of <paramref name="max"/>.
    /// </summary>
    public (List<KeyValuePair<string, int>> Page, int Matching) PatternsAfter(string prefix, string after, int max)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);

        // A max-heap of the smallest keys so far: its root (the largest) is the first to give way.
        var heap = new PriorityQueue<KeyValuePair<string, int>, string>(max + 1, Comparer<string>.Create(static (a, b) => string.CompareOrdinal(b, a)));
        var matching = 0;
        foreach (var entry in _perPattern)
        {
            if (entry.Value <= 0 || !entry.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            matching++;
            if (string.CompareOrdinal(entry.Key, after) <= 0)
            {
                continue;
            }

            heap.Enqueue(entry, entry.Key);
            if (heap.Count > max)
            {
                heap.Dequeue();
            }
        }

        var page = new List<KeyValuePair<string, int>>(heap.Count);
        while (heap.Count > 0)
        {
            page.Add(heap.Dequeue());
        }

        page.Reverse();
        return (page, matching);
    }

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();

    private static void Match(Node node, ReadOnlySpan<char> remaining, HashSet<T> into)
    {
        while (true)
        {
            // '>' here matches the one or more segments that remain.
            if (node.Rest is { } rest)
            {
                AddAll(rest, into);
            }

            var dot = remaining.IndexOf('.');
            var segment = dot < 0 ? remaining : remaining[..dot];
            var next = dot < 0 ? default : remaining[(dot + 1)..];
            var last = dot < 0;
            if (node.Star is { } star)
            {
                if (last)
                {
                    AddHere(star, into);
                }
                else
                {
                    Match(star, next, into);
                }
            }

            if (node.Children is null || !node.Children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(segment, out var child))
            {
                return;
            }

            if (last)
            {
                AddHere(child, into);
                return;
            }

            node = child;
            remaining = next;
        }
    }

    private static void AddHere(Node node, HashSet<T> into)
    {
        if (node.Here is { } here)
        {
            AddAll(here, into);
        }
    }

    // A foreach over the set's struct enumerator: UnionWith would box an enumerator per call.
    private static void AddAll(HashSet<T> from, HashSet<T> into)
    {
        foreach (var subscriber in from)
        {
            into.Add(subscriber);
        }
    }

    /// <summary>
    /// The node a pattern ends at (making the path when <paramref name="create"/>), and whether it ends in <c>&gt;</c>
    /// (its subscribers are then the node's <c>Rest</c>); null when the path does not exist and is not made.
    /// </summary>
    private (Node? Node, bool EndsWithRest) Walk(string pattern, bool create)
    {
        Node? node = _root;
        var segments = pattern.Split('.');
        for (var i = 0; i < segments.Length && node is not null; i++)
        {
            var segment = segments[i];
            if (segment == ">" && i == segments.Length - 1)
            {
                return (node, true);
            }

            if (!create)
            {
                node = segment == "*" ? node.Star : node.Children?.GetValueOrDefault(segment);
            }
            else if (segment == "*")
            {
                node = node.Star ??= new Node(node, "*");
            }
            else
            {
                var children = node.Children ??= new Dictionary<string, Node>(StringComparer.Ordinal);
                if (!children.TryGetValue(segment, out var child))
                {
                    children[segment] = child = new Node(node, segment);
                }

                node = child;
            }
        }

        return (node, false);
    }

    private static void Prune(Node node)
    {
        while (node.Parent is { } parent && node.Here is null && node.Rest is null && node.Star is null && (node.Children is null || node.Children.Count == 0))
        {
            if (node.Key == "*" && ReferenceEquals(parent.Star, node))
            {
                parent.Star = null;
            }
            else
            {
                parent.Children?.Remove(node.Key);
            }

            node = parent;
        }
    }

    private sealed class Node(Node? parent, string key)
    {
        public Node? Parent { get; } = parent;

        public string Key { get; } = key;

        public Dictionary<string, Node>? Children { get; set; }

        public Node? Star { get; set; }

        /// <summary>Subscribers whose pattern ends at this node.</summary>
        public HashSet<T>? Here { get; set; }

        /// <summary>Subscribers whose pattern is this node's path followed by <c>&gt;</c>.</summary>
        public HashSet<T>? Rest { get; set; }
    }
}
