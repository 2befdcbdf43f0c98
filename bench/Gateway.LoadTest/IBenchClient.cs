namespace Gateway.LoadTest;

/// <summary>A load-generating client, over a WebSocket or the Server-Sent Events stream.</summary>
public interface IBenchClient : IDisposable
{
    /// <summary>The id from the server's connected frame, or empty.</summary>
    string Id { get; }

    /// <summary>Receives one whole message; its bytes stay valid until the next receive.</summary>
    Task<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken);
}
