using System.Text.Json;

namespace Gateway.Client.Management;

/// <summary>A topic as <c>GET /@topics/{topic}</c> describes it.</summary>
/// <param name="Channel">The topic.</param>
/// <param name="Subscribers">How many connections, on every node, a publish to it reaches.</param>
/// <param name="Members">The presence members (<c>{"connectionId","userId","info"}</c>) of a topic with presence, else <c>Undefined</c>.</param>
/// <param name="Complete">False when a node did not answer in time.</param>
/// <param name="Body">The whole answer.</param>
public sealed record TopicInfo(string Channel, int Subscribers, JsonElement Members, bool Complete, JsonElement Body);
