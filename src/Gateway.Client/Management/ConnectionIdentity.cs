namespace Gateway.Client.Management;

/// <summary>Who opened a connection.</summary>
/// <param name="SourceIp">The client's address.</param>
/// <param name="UserAgent">Its <c>User-Agent</c>, null when none was sent.</param>
public sealed record ConnectionIdentity(string? SourceIp, string? UserAgent);
