using System.Text.Json;

namespace Gateway.Client;

/// <summary>A command waiting for the frame that echoes its <c>id</c>.</summary>
internal sealed class PendingCommand(long id, Action<JsonElement>? onAnswer, TopicSubscription? subscription)
{
    public long Id { get; } = id;

    /// <summary>Run on the receive loop with the answer, before any later frame is read.</summary>
    public Action<JsonElement>? OnAnswer { get; } = onAnswer;

    /// <summary>The subscription a subscribe command is for (made again on a new connection rather than failed).</summary>
    public TopicSubscription? Subscription { get; } = subscription;

    /// <summary>The connection it was sent on; 0 while it waits in the outgoing queue.</summary>
    public long Generation { get; set; }

    public TaskCompletionSource<JsonElement> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
