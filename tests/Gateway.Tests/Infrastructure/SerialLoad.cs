namespace Gateway.Tests.Infrastructure;

/// <summary>
/// Tests that load the machine on purpose (thousands of connections) run one at a time, apart from the parallel
/// in-process tests, so that neither slows the other past its deadlines.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialLoad
{
    public const string Name = "load";
}
