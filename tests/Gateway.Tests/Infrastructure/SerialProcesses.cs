namespace Gateway.Tests.Infrastructure;

/// <summary>Tests that start other processes run one at a time, apart from the parallel in-process tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialProcesses
{
    public const string Name = "processes";
}
