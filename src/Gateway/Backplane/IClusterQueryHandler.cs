namespace Gateway.Backplane;

/// <summary>Answers one kind of <see cref="ClusterQuery"/> on this node; registered in DI, it is asked by every other node's queries of its name.</summary>
public interface IClusterQueryHandler
{
    /// <summary>The query's name.</summary>
    string Name { get; }

    /// <summary>This node's answer to the query with <paramref name="argument"/>; runs on the thread that reads the channel, so it must not block.</summary>
    byte[] Answer(string argument);
}
