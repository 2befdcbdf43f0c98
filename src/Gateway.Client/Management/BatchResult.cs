namespace Gateway.Client.Management;

/// <summary>What one item of a batch came to: 200 with how many connections took it, or the error the single call would have had.</summary>
/// <param name="Status">The item's status.</param>
/// <param name="Delivered">How many connections took it (200 only).</param>
/// <param name="ErrorType">The error's type (<c>GoneException</c>…), else null.</param>
/// <param name="Message">The error's message, else null.</param>
public sealed record BatchResult(int Status, int Delivered, string? ErrorType, string? Message);
