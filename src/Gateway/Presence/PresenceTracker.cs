using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Topics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Presence;

/// <summary>
/// Makes subscribers of topics with presence members, and tells subscribers when members join and leave. A connection
/// that subscribes to such a topic by its name (not through a pattern) joins this node's roster, which the backplane
/// tells every node of; every node delivers each change its roster sees to its own subscribers of the topic, once, the
/// member itself left out. For topics whose webhooks want <c>occupied</c> and <c>vacated</c>, the node joins the topic's
/// occupancy roster while it has subscribers of it. Changes are handed to <see cref="TopicWebhooks"/> on the one node
/// that posts them.
/// </summary>
public sealed class PresenceTracker : ISubscriptionObserver, IHostedService
{
    private readonly TopicHub _hub;
    private readonly IBackplane _backplane;
    private readonly GatewayNode _node;
    private readonly TopicWebhooks _webhooks;
    private readonly Diagnostics.GatewayMetrics? _metrics;
    private readonly PresenceRules _rules;
    private readonly IList<TopicWebhookOptions> _hooks;
    private readonly bool _occupancy;

    // This node's subscribers of each topic with occupancy webhooks (by name), and the lock that keeps the count and the
    // occupancy roster in step.
    private readonly Dictionary<string, int> _occupants = new(StringComparer.Ordinal);

    /// <summary>Creates the tracker; it starts observing when the host starts.</summary>
    public PresenceTracker(IOptions<GatewayOptions> options, TopicHub hub, IBackplane backplane, GatewayNode node, TopicWebhooks webhooks, Diagnostics.GatewayMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _hub = hub;
        _backplane = backplane;
        _node = node;
        _webhooks = webhooks;
        _metrics = metrics;
        _rules = new PresenceRules(options.Value.Topics.Presence);
        _hooks = options.Value.Topics.Webhooks;
        _occupancy = _hooks.Any(h => h.Events.Contains("occupied") || h.Events.Contains("vacated"));
    }

    /// <summary>Which topics have presence, and what members show.</summary>
    public PresenceRules Rules => _rules;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_rules.Any || _hooks.Count > 0)
        {
            _backplane.Presence.Changed += OnMemberChanged;
            _backplane.Occupancy.Changed += OnOccupancyChanged;
            _hub.Observer = this;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The members of <paramref name="topic"/> on every node, and whether it is full; null when the topic has no presence.</summary>
    public (List<PresenceMember> Members, bool Full)? MembersOf(string topic)
    {
        if (_rules.RuleOf(topic) is not { } rule)
        {
            return null;
        }

        var members = _backplane.Presence.Members(topic);
        return (members, members.Count >= rule.MaxMembers);
    }

    /// <inheritdoc />
    public void Subscribed(GatewayConnection connection, string pattern)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (TopicName.HasWildcard(pattern))
        {
            return;
        }

        if (_occupancy && Hooked(pattern, e => e is "occupied" or "vacated"))
        {
            lock (_occupants)
            {
                _occupants[pattern] = _occupants.GetValueOrDefault(pattern) + 1;
                if (_occupants[pattern] == 1)
                {
                    _backplane.Occupancy.Join(pattern, new PresenceMember(_node.Id, null, null), int.MaxValue);
                }
            }
        }

        // After the occupancy: a topic is occupied before its first member joins.
        if (_rules.RuleOf(pattern) is { } rule && !_backplane.Presence.Join(pattern, _rules.MemberOf(connection), rule.MaxMembers))
        {
            _metrics?.PresenceNotAnnounced();
        }
    }

    /// <inheritdoc />
    public void Unsubscribed(GatewayConnection connection, string pattern)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (TopicName.HasWildcard(pattern))
        {
            return;
        }

        if (_rules.Any)
        {
            _backplane.Presence.Leave(pattern, connection.Id);
        }

        if (_occupancy)
        {
            lock (_occupants)
            {
                if (_occupants.TryGetValue(pattern, out var count))
                {
                    if (count > 1)
                    {
                        _occupants[pattern] = count - 1;
                    }
                    else
                    {
                        _occupants.Remove(pattern);
                        _backplane.Occupancy.Leave(pattern, _node.Id);
                    }
                }
            }
        }
    }

    private void OnMemberChanged(object? sender, PresenceChange change)
    {
        // Called under the roster's lock, so that each subscriber gets one member's join and leave in the order they
        // happened. Nothing here waits: frames are queued to each connection's bounded queue, events to the webhooks'.
        // The member itself is left out: it is not told of its own join or leave.
        _hub.DeliverFrame(change.Topic, PresenceFrames.Change(change.Topic, change.Member, change.Joined), new HashSet<string>(StringComparer.Ordinal) { change.Member.ConnectionId });

        _metrics?.PresenceChange(change.Joined);
        var name = change.Joined ? "join" : "leave";
        if (change.Cause != PresenceCause.Startup && _backplane.LeadsWebhooks && Hooked(change.Topic, e => e == name))
        {
            _webhooks.Post(name, change.Topic, change.Member, change.NodeId);
        }
    }

    private void OnOccupancyChanged(object? sender, PresenceChange change)
    {
        var count = _backplane.Occupancy.Count(change.Topic);
        var name = change.Joined ? (count == 1 ? "occupied" : null) : (count == 0 ? "vacated" : null);
        if (name is not null && change.Cause != PresenceCause.Startup && _backplane.LeadsWebhooks && Hooked(change.Topic, e => e == name))
        {
            _webhooks.Post(name, change.Topic, null, change.NodeId);
        }
    }

    private bool Hooked(string topic, Func<string, bool> wants)
    {
        foreach (var hook in _hooks)
        {
            if (hook.Events.Any(wants) && TopicName.Matches(hook.Pattern, topic))
            {
                return true;
            }
        }

        return false;
    }
}
