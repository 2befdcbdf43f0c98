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
            if (set.Count == 0)
            {
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
    /// Each pattern subscribed to and its number of subscribers, the most subscribed first, at most
    /// <paramref name="max"/> of them, and how many patterns there are in all.
    /// </summary>
    public (List<KeyValuePair<string, int>> Top, int Patterns) Patterns(int max)
    {
        var all = new List<KeyValuePair<string, int>>();
        _lock.EnterReadLock();
        try
        {
            Collect(_root, "", all);
        }
        finally
        {
            _lock.ExitReadLock();
        }

        all.Sort((a, b) => b.Value != a.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
        return (all.Count > max ? all[..max] : all, all.Count);
    }

    private static void Collect(Node node, string path, List<KeyValuePair<string, int>> into)
    {
        if (node.Here is { Count: > 0 } here)
        {
            into.Add(new(path, here.Count));
        }

        if (node.Rest is { Count: > 0 } rest)
        {
            into.Add(new(path.Length == 0 ? ">" : path + ".>", rest.Count));
        }

        if (node.Star is { } star)
        {
            Collect(star, path.Length == 0 ? "*" : path + ".*", into);
        }

        foreach (var (key, child) in node.Children ?? [])
        {
            Collect(child, path.Length == 0 ? key : path + "." + key, into);
        }
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
