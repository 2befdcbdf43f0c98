using Gateway.Backplane;

namespace Gateway.Management;

/// <summary>Answers one of the <see cref="ManagementQueries"/> when another node asks it.</summary>
/// <param name="queries">The questions.</param>
/// <param name="name">Which one this handler answers.</param>
internal sealed class ManagementQueryHandler(ManagementQueries queries, string name) : IClusterQueryHandler
{
    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public byte[] Answer(string argument) => queries.Answer(name, argument);
}
