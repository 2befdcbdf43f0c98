namespace Gateway.Backplane;

/// <summary>
/// The <c>Gateway:Cluster:Link</c> section: a direct TCP link between the nodes of a cluster, which carries the calls
/// for one connection (push, describe, attribute change, delete) and their answers instead of the engine. Off unless
/// <see cref="Listen"/> is set.
/// </summary>
public sealed class NodeLinkOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Gateway:Cluster:Link";

    /// <summary>The IP address and port this node accepts other nodes' links on (<c>0.0.0.0:8082</c>); unset, the link is off.</summary>
    public string? Listen { get; set; }

    /// <summary>
    /// The host and port other nodes connect to (<c>10.0.0.5:8082</c>, <c>gateway-1:8082</c>). Unset: the address
    /// of <see cref="Listen"/>, or, when that is a wildcard, the first address this machine's host name resolves to.
    /// </summary>
    public string? Advertise { get; set; }

    /// <summary>The secret every node of the cluster shares, with which a node proves itself when it opens a link (16 characters or more).</summary>
    public string? Secret { get; set; }

    /// <summary>Whether the link is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Listen);
}
