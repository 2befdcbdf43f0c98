using Gateway.Configuration;

namespace Gateway.Topics;

/// <summary>The checks of topics: limits, authorization, history.</summary>
public static class TopicsOptionsValidator
{
    /// <summary>Adds a line to <paramref name="errors"/> for each problem of <paramref name="options"/> this part owns.</summary>
    public static void Validate(GatewayOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        ValidateTopics(options.Topics, options.Connections, errors);
    }

    private static void ValidateTopics(TopicsOptions topics, ConnectionsOptions connections, ICollection<string> errors)
    {
        const string P = "Gateway:Topics:";
        if (topics.MaxSubscriptionsPerConnection < 1 || topics.MaxTopicLength < 1)
        {
            errors.Add($"{P}MaxSubscriptionsPerConnection and MaxTopicLength must be at least 1.");
        }

        var overlaps = new List<string>();
        for (var i = 0; i < topics.History.Count; i++)
        {
            var history = topics.History[i];
            if (!Topics.TopicName.IsValidPattern(history.Pattern, int.MaxValue))
            {
                errors.Add($"{P}History: Pattern '{history.Pattern}' is not a topic pattern.");
            }
            else
            {
                for (var j = 0; j < i; j++)
                {
                    var earlier = topics.History[j].Pattern;
                    if (Topics.TopicName.IsValidPattern(earlier, int.MaxValue) && Topics.TopicName.Overlaps(earlier, history.Pattern))
                    {
                        overlaps.Add($"entries {j} '{earlier}' and {i} '{history.Pattern}'");
                    }
                }
            }

            // A recovering client is sent every missed event at once; they must fit its send queue.
            if (history.Size < 1 || history.Size >= connections.SendQueueLimit || history.Ttl <= TimeSpan.Zero)
            {
                errors.Add($"{P}History '{history.Pattern}': Size must be at least 1 and below Connections:SendQueueLimit ({connections.SendQueueLimit}), Ttl positive.");
            }
        }

        if (overlaps.Count > 0)
        {
            // A topic's history follows one entry; a JetStream backplane also refuses streams whose subjects overlap.
            errors.Add($"{P}History: patterns may not overlap, and these do (a topic would match both): {string.Join("; ", overlaps)}.");
        }

        for (var i = 0; i < topics.ClientPublish.Count; i++)
        {
            var rule = topics.ClientPublish[i];
            if (!Topics.TopicName.IsValidPattern(rule.Pattern, int.MaxValue))
            {
                errors.Add($"{P}ClientPublish:{i}:Pattern '{rule.Pattern}' is not a topic pattern.");
            }

            if (!(rule.RatePerSecond > 0) || double.IsInfinity(rule.RatePerSecond))
            {
                errors.Add($"{P}ClientPublish:{i}:RatePerSecond {rule.RatePerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)} must be a positive number.");
            }
        }

        if (topics.Authorization.Uri is { Length: > 0 } uri && (!System.Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https")))
        {
            errors.Add($"{P}Authorization:Uri '{uri}' must be an absolute http:// or https:// URL.");
        }

        if (topics.Authorization.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{P}Authorization:Timeout must be positive.");
        }

        ValidatePresence(topics.Presence, errors);
        ValidateWebhooks(topics.Webhooks, errors);
    }

    private static void ValidatePresence(PresenceOptions presence, ICollection<string> errors)
    {
        const string P = "Gateway:Topics:Presence:";
        foreach (var error in presence.BindErrors)
        {
            errors.Add(error);
        }

        for (var i = 0; i < presence.Rules.Count; i++)
        {
            var rule = presence.Rules[i];
            if (!TopicName.IsValidPattern(rule.Pattern, int.MaxValue))
            {
                errors.Add($"{P}{i}:Pattern '{rule.Pattern}' is not a topic pattern.");
            }

            if (rule.MaxMembers < 1)
            {
                errors.Add($"{P}{i}:MaxMembers must be at least 1.");
            }
        }

        if (presence.InfoClaims.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{P}InfoClaims may not hold an empty claim name.");
        }
    }

    private static void ValidateWebhooks(IList<TopicWebhookOptions> webhooks, ICollection<string> errors)
    {
        const string P = "Gateway:Topics:Webhooks:";
        for (var i = 0; i < webhooks.Count; i++)
        {
            var webhook = webhooks[i];
            if (!TopicName.IsValidPattern(webhook.Pattern, int.MaxValue))
            {
                errors.Add($"{P}{i}:Pattern '{webhook.Pattern}' is not a topic pattern.");
            }

            if (!System.Uri.TryCreate(webhook.Uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
            {
                errors.Add($"{P}{i}:Uri '{webhook.Uri}' must be an absolute http:// or https:// URL.");
            }

            var unknown = webhook.Events.Where(e => !WebhookEventNames.Contains(e)).ToList();
            if (webhook.Events.Count == 0 || unknown.Count > 0)
            {
                errors.Add($"{P}{i}:Events must name one or more of occupied, vacated, join, leave{(unknown.Count > 0 ? $" (not: {string.Join(", ", unknown)})" : "")}.");
            }

            if (webhook.MaxAttempts < 1 || webhook.Timeout <= TimeSpan.Zero || webhook.RetryDelay <= TimeSpan.Zero || webhook.QueueLimit < 1)
            {
                errors.Add($"{P}{i}: MaxAttempts and QueueLimit must be at least 1, Timeout and RetryDelay positive.");
            }
        }
    }

    /// <summary>The events a webhook may ask for.</summary>
    public static readonly IReadOnlySet<string> WebhookEventNames = new HashSet<string>(StringComparer.Ordinal) { "occupied", "vacated", "join", "leave" };
}
