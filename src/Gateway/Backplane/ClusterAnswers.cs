namespace Gateway.Backplane;

/// <summary>What the other live nodes answered to a <see cref="ClusterQuery"/> before its deadline.</summary>
/// <param name="Answers">Each answering node and its answer.</param>
/// <param name="Complete">True when every live node answered.</param>
/// <param name="MissingNodes">The live nodes that did not answer in time (or could not answer this question).</param>
public sealed record ClusterAnswers(IReadOnlyList<KeyValuePair<string, byte[]>> Answers, bool Complete, IReadOnlyList<string> MissingNodes);
