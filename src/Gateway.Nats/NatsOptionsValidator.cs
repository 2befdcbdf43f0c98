using Gateway.Topics;
using Microsoft.Extensions.Options;

namespace Gateway.Nats;

/// <summary>Checks <c>Gateway:Nats</c>, naming every problem with its key.</summary>
internal sealed class NatsOptionsValidator : IValidateOptions<NatsOptions>
{
    public ValidateOptionsResult Validate(string? name, NatsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var urls = (options.Url ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (urls.Length == 0)
        {
            failures.Add("Gateway:Nats:Url is required (nats://host:4222, or a comma-separated list of a cluster's servers).");
        }

        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url.Contains("://", StringComparison.Ordinal) ? url : "nats://" + url, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
            {
                failures.Add($"Gateway:Nats:Url: '{url}' is not a NATS URL (nats://host:4222, tls://host:4222).");
            }
        }

        if (string.IsNullOrEmpty(options.SubjectPrefix) || !TopicName.IsValidName(options.SubjectPrefix, 64) || options.SubjectPrefix.Contains('.', StringComparison.Ordinal) || options.SubjectPrefix.StartsWith('$'))
        {
            failures.Add($"Gateway:Nats:SubjectPrefix: '{options.SubjectPrefix}' must be one subject token (letters, digits, - and _), such as gw.");
        }

        var subjects = options.IngestedSubjects;
        for (var i = 0; i < subjects.Count; i++)
        {
            if (!TopicName.IsValidPattern(subjects[i], 1024))
            {
                failures.Add($"Gateway:Nats:EventSubjects:{i}: '{subjects[i]}' is not a subject pattern (tokens separated by dots; * for one token, > as the last for the rest).");
                continue;
            }

            for (var j = 0; j < i; j++)
            {
                if (TopicName.IsValidPattern(subjects[j], 1024) && TopicName.Overlaps(subjects[i], subjects[j]))
                {
                    failures.Add($"Gateway:Nats:EventSubjects:{j} '{subjects[j]}' and :{i} '{subjects[i]}' overlap: an event on a subject both match would be delivered twice.");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(options.TypeHeader) || options.TypeHeader.Any(c => c <= ' ' || c == ':' || c > '~'))
        {
            failures.Add($"Gateway:Nats:TypeHeader: '{options.TypeHeader}' is not a header name.");
        }

        if (options.JetStream.Replicas is < 1 or > 5)
        {
            failures.Add($"Gateway:Nats:JetStream:Replicas: {options.JetStream.Replicas} must be from 1 to 5.");
        }

        if (options.HeartbeatInterval <= TimeSpan.Zero || options.NodeTtl <= options.HeartbeatInterval)
        {
            failures.Add("Gateway:Nats:NodeTtl must be longer than Gateway:Nats:HeartbeatInterval, which must be positive.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add("Gateway:Nats:RequestTimeout must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
