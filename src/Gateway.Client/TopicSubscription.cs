using System.Threading.Channels;

namespace Gateway.Client;

/// <summary>
/// A subscription to a topic or pattern: its events in order, each once, across reconnects (read it with
/// <c>await foreach</c>); disposing it unsubscribes.
/// </summary>
public sealed class TopicSubscription : IAsyncEnumerable<TopicEvent>, IAsyncDisposable
{
    private readonly GatewayClient _client;

    internal TopicSubscription(GatewayClient client, string channel, int capacity)
    {
        _client = client;
        Channel = channel;
        Events = System.Threading.Channels.Channel.CreateBounded<TopicEvent>(new BoundedChannelOptions(capacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The topic or pattern subscribed to.</summary>
    public string Channel { get; }

    /// <summary>The epoch of the topic's history, where it keeps one (from the latest <c>subscribed</c> answer).</summary>
    public string? Epoch { get; internal set; }

    /// <summary>The latest <c>subscribed</c> answer's <c>recovered</c>, when it had one.</summary>
    public bool? Recovered { get; internal set; }

    internal Channel<TopicEvent> Events { get; }

    internal TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal bool Active { get; set; } = true;

    /// <inheritdoc />
    public IAsyncEnumerator<TopicEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        Events.Reader.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <summary>Unsubscribes (the gateway confirms) and ends the events.</summary>
    public Task UnsubscribeAsync(CancellationToken cancellationToken = default) => _client.UnsubscribeAsync(this, cancellationToken);

    /// <summary>Unsubscribes, as <see cref="UnsubscribeAsync"/>, unless the client is gone.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Active && !_client.IsDisposed)
        {
            try
            {
                await UnsubscribeAsync();
            }
            catch (Exception ex) when (ex is TimeoutException or GatewayCommandException or GatewayConnectionLostException or OutgoingQueueFullException or ObjectDisposedException)
            {
                // The subscription is ended on this side either way; the gateway ends it with the connection.
            }
        }
    }
}
