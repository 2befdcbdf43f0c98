namespace Gateway.Backplane;

/// <summary>
/// Who is present in which topic, as this node knows it: its own members, which it decides, and every other node's,
/// as their joins, leaves and lists reach it. Each node numbers the changes of its own members; a change older than
/// what is known of a member is ignored, and a leave is remembered for a while (a tombstone) so that a join that arrives
/// late cannot bring the member back. A change is reported once per member per node: a join when the member was not
/// there, a leave when it was, whatever number of ways (a leave, the node's lapsed liveness, its list) bring the news.
/// </summary>
public sealed class PresenceRoster
{
    private readonly object _gate = new();
    private readonly string _self;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, TopicMembers> _topics = new(StringComparer.Ordinal);
    private long _sequence;
    private int _own;

    /// <summary>Creates the roster of node <paramref name="self"/>; <paramref name="time"/> numbers its changes and ages tombstones.</summary>
    public PresenceRoster(string self, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _self = self;
        _time = time;

        // Numbers start from the clock, so that a node that restarts with the same id numbers after its earlier run.
        _sequence = time.GetUtcNow().UtcTicks;
    }

    /// <summary>
    /// A member joined or left. Raised while the roster is locked, so that every observer sees one member's changes in
    /// the order they were made: a handler must not wait (queueing frames to connections is what it is for).
    /// </summary>
    public event EventHandler<PresenceChange>? Changed;

    /// <summary>A change of this node's own members, to be told to the other nodes. Raised in numbering order, while the roster is locked.</summary>
    public event EventHandler<PresenceAnnouncement>? Announced;

    /// <summary>Members this node holds, over every topic.</summary>
    public int OwnMembers => Volatile.Read(ref _own);

    /// <summary>
    /// Adds a member of this node; false when <paramref name="topic"/> has <paramref name="maxMembers"/> already (the
    /// member is then not announced) or it is a member already.
    /// </summary>
    public bool Join(string topic, PresenceMember member, int maxMembers)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(member);
        lock (_gate)
        {
            var entries = Entries(topic);
            if (entries.TryGetValue(member.ConnectionId, out var known) && known.Member is not null)
            {
                return false;
            }

            if (entries.Present >= maxMembers)
            {
                return false;
            }

            var sequence = ++_sequence;
            entries.Set(member.ConnectionId, new Entry(_self, sequence, member, 0));
            _own++;
            Announced?.Invoke(this, new PresenceAnnouncement(topic, member, sequence, true));
            Changed?.Invoke(this, new PresenceChange(topic, member, _self, true, PresenceCause.Live));
            return true;
        }
    }

    /// <summary>Removes a member of this node; false when it was none (never announced, or gone already).</summary>
    public bool Leave(string topic, string connectionId)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(connectionId);
        lock (_gate)
        {
            if (!_topics.TryGetValue(topic, out var entries) || !entries.TryGetValue(connectionId, out var known) || known.Member is not { } member || known.Owner != _self)
            {
                return false;
            }

            // No tombstone: nothing another node says can change this node's own members.
            var sequence = ++_sequence;
            entries.Remove(connectionId);
            if (entries.Map.Count == 0)
            {
                _topics.Remove(topic);
            }

            _own--;
            Announced?.Invoke(this, new PresenceAnnouncement(topic, member, sequence, false));
            Changed?.Invoke(this, new PresenceChange(topic, member, _self, false, PresenceCause.Live));
            return true;
        }
    }

    /// <summary>The members of <paramref name="topic"/>, every node's.</summary>
    public List<PresenceMember> Members(string topic)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var entries) ? [.. entries.Map.Values.Select(e => e.Member).OfType<PresenceMember>()] : [];
        }
    }

    /// <summary>How many members <paramref name="topic"/> has, every node's.</summary>
    public int Count(string topic)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var entries) ? entries.Present : 0;
        }
    }

    /// <summary>Whether <paramref name="connectionId"/> is a member of <paramref name="topic"/>.</summary>
    public bool Contains(string topic, string connectionId)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var entries) && entries.TryGetValue(connectionId, out var entry) && entry.Member is not null;
        }
    }

    /// <summary>The nodes other than this one that hold members now.</summary>
    public HashSet<string> OtherOwners()
    {
        lock (_gate)
        {
            return [.. _topics.Values.SelectMany(e => e.Map.Values).Where(e => e.Member is not null && e.Owner != _self).Select(e => e.Owner)];
        }
    }

    /// <summary>This node's own members, for the other nodes.</summary>
    public PresenceSnapshot Own()
    {
        lock (_gate)
        {
            var entries = new List<(string, PresenceMember, long)>();
            foreach (var (topic, members) in _topics)
            {
                foreach (var entry in members.Map.Values)
                {
                    if (entry.Owner == _self && entry.Member is { } member)
                    {
                        entries.Add((topic, member, entry.Sequence));
                    }
                }
            }

            return new PresenceSnapshot(_sequence, entries);
        }
    }

    /// <summary>Another node's member joined (<paramref name="sequence"/> being that node's number for it).</summary>
    public void ApplyJoin(string owner, string topic, PresenceMember member, long sequence, PresenceCause cause = PresenceCause.Live)
    {
        ArgumentNullException.ThrowIfNull(member);
        lock (_gate)
        {
            Join(owner, topic, member, sequence, cause);
        }
    }

    /// <summary>Another node's member left.</summary>
    public void ApplyLeave(string owner, string topic, string connectionId, long sequence)
    {
        lock (_gate)
        {
            var entries = Entries(topic);
            if (!entries.TryGetValue(connectionId, out var known))
            {
                // Remembered, so that the join this leave overtook is not taken for a new one.
                entries.Set(connectionId, new Entry(owner, sequence, null, Now()));
                return;
            }

            if (known.Owner != owner || sequence <= known.Sequence)
            {
                return;
            }

            entries.Set(connectionId, new Entry(owner, sequence, null, Now()));
            if (known.Member is { } member)
            {
                Changed?.Invoke(this, new PresenceChange(topic, member, owner, false, PresenceCause.Live));
            }
        }
    }

    /// <summary>
    /// Another node's own members as of its number <see cref="PresenceSnapshot.Sequence"/>: the ones not known are
    /// joins; its members known here that joined before that number and are not in the list are leaves.
    /// </summary>
    public void ApplySnapshot(string owner, PresenceSnapshot snapshot, PresenceCause cause)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (owner == _self)
        {
            return;
        }

        lock (_gate)
        {
            var listed = new HashSet<(string, string)>();
            foreach (var (topic, member, sequence) in snapshot.Entries)
            {
                listed.Add((topic, member.ConnectionId));
                Join(owner, topic, member, sequence, cause);
            }

            foreach (var (topic, entries) in _topics)
            {
                foreach (var (id, entry) in entries.Map.ToList())
                {
                    if (entry.Owner == owner && entry.Member is { } member && entry.Sequence <= snapshot.Sequence && !listed.Contains((topic, id)))
                    {
                        entries.Set(id, new Entry(owner, snapshot.Sequence, null, Now()));
                        Changed?.Invoke(this, new PresenceChange(topic, member, owner, false, cause));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Node <paramref name="owner"/> is no longer live: each of its members leaves. Should it come back, its list brings
    /// them back (a member that joined again with the same number is taken).
    /// </summary>
    public void DropNode(string owner)
    {
        if (owner == _self)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var (topic, entries) in _topics)
            {
                foreach (var (id, entry) in entries.Map.ToList())
                {
                    if (entry.Owner == owner && entry.Member is { } member)
                    {
                        entries.Set(id, new Entry(owner, entry.Sequence, null, Now(), Dropped: true));
                        Changed?.Invoke(this, new PresenceChange(topic, member, owner, false, PresenceCause.NodeLost));
                    }
                }
            }
        }
    }

    /// <summary>Forgets the leaves older than <paramref name="age"/>, and topics left with nothing.</summary>
    public void Prune(TimeSpan age)
    {
        var before = Now() - age.Ticks;
        lock (_gate)
        {
            foreach (var (topic, entries) in _topics.ToList())
            {
                foreach (var (id, entry) in entries.Map.ToList())
                {
                    if (entry.Member is null && entry.LeftAt < before)
                    {
                        entries.Map.Remove(id);
                    }
                }

                if (entries.Map.Count == 0)
                {
                    _topics.Remove(topic);
                }
            }
        }
    }

    private void Join(string owner, string topic, PresenceMember member, long sequence, PresenceCause cause)
    {
        if (owner == _self)
        {
            return;
        }

        var entries = Entries(topic);
        if (entries.TryGetValue(member.ConnectionId, out var known))
        {
            if (known.Owner == owner && (sequence < known.Sequence || (sequence == known.Sequence && !known.Dropped)))
            {
                return;
            }

            if (known.Member is not null)
            {
                // Known already (a session that moved to another node keeps its membership): nothing to tell.
                entries.Set(member.ConnectionId, new Entry(owner, sequence, member, 0));
                return;
            }
        }

        entries.Set(member.ConnectionId, new Entry(owner, sequence, member, 0));
        Changed?.Invoke(this, new PresenceChange(topic, member, owner, true, cause));
    }

    private TopicMembers Entries(string topic)
    {
        if (!_topics.TryGetValue(topic, out var entries))
        {
            entries = new TopicMembers();
            _topics[topic] = entries;
        }

        return entries;
    }

    private long Now() => _time.GetUtcNow().UtcTicks;

    /// <summary>One topic's entries, and how many of them are members.</summary>
    private sealed class TopicMembers
    {
        public Dictionary<string, Entry> Map { get; } = new(StringComparer.Ordinal);

        public int Present { get; private set; }

        public bool TryGetValue(string id, out Entry entry) => Map.TryGetValue(id, out entry!);

        public void Remove(string id)
        {
            if (Map.Remove(id, out var old) && old.Member is not null)
            {
                Present--;
            }
        }

        public void Set(string id, Entry entry)
        {
            var was = Map.TryGetValue(id, out var old) && old.Member is not null;
            Map[id] = entry;
            Present += (entry.Member is not null ? 1 : 0) - (was ? 1 : 0);
        }
    }

    /// <summary>What is known of one member: who holds it, the number of the latest change, and the member (null once it left).</summary>
    private sealed record Entry(string Owner, long Sequence, PresenceMember? Member, long LeftAt, bool Dropped = false);
}
