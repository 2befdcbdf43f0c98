using System.Net;
using Microsoft.Extensions.Options;

namespace Gateway.Backplane;

/// <summary>Checks the <c>Gateway:Cluster:Link</c> section; every problem is named at once.</summary>
internal sealed class NodeLinkOptionsValidator : IValidateOptions<NodeLinkOptions>
{
    /// <summary>The shortest secret taken.</summary>
    public const int MinSecretLength = 16;

    public ValidateOptionsResult Validate(string? name, NodeLinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var errors = new List<string>();
        if (!IPEndPoint.TryParse(options.Listen!, out _) || !options.Listen!.Contains(':', StringComparison.Ordinal))
        {
            errors.Add($"Gateway:Cluster:Link:Listen must be an IP address and a port (0.0.0.0:8082, [::]:8082), not '{options.Listen}'.");
        }

        if (!string.IsNullOrWhiteSpace(options.Advertise) && !NodeLink.TrySplitAddress(options.Advertise, out _, out _))
        {
            errors.Add($"Gateway:Cluster:Link:Advertise must be a host and a port other nodes reach this one on (10.0.0.5:8082, gateway-1:8082), not '{options.Advertise}'.");
        }

        if (string.IsNullOrEmpty(options.Secret))
        {
            errors.Add("Gateway:Cluster:Link:Secret is required when Gateway:Cluster:Link:Listen is set: the link carries pushes into clients' sockets, and only nodes that know the secret may open one.");
        }
        else if (options.Secret.Length < MinSecretLength)
        {
            errors.Add($"Gateway:Cluster:Link:Secret must be {MinSecretLength} characters or more.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
