using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Gateway.Client;

/// <summary>
/// A real-time client of the gateway on <see cref="ClientWebSocket"/>. It keeps one connection open: it reconnects with
/// exponential backoff and full jitter, asks the gateway to resume the previous connection when it offers resume
/// tokens, and otherwise subscribes each topic again from the last offset it received, so that a subscription's
/// events arrive in order and each once across reconnects. Commands are matched to their answers by <c>id</c>.
/// </summary>
public sealed class GatewayClient : IAsyncDisposable
{
    private static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);

    private readonly GatewayClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Backoff _backoff;
    private readonly object _gate = new();
    private readonly Queue<OutgoingFrame> _outgoing = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentDictionary<long, PendingCommand> _pending = new();
    private readonly ConcurrentDictionary<long, Channel<JsonElement>> _streams = new();
    private readonly Dictionary<string, TopicSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TopicCursor> _cursors = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ClientWebSocket? _socket;
    private bool _ready;
    private long _generation;
    private long _nextId;
    private string? _resumeToken;

    // Data frames received on the current session, across its sockets (the gateway's session frames not counted): a
    // resume says how many arrived, and the gateway writes again the ones after them.
    private long _sessionReceived;
    private string? _token;
    private Task? _run;
    private int _disposed;

    /// <summary>Creates a client; nothing connects until <see cref="ConnectAsync"/>.</summary>
    public GatewayClient(GatewayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = options.TimeProvider;
        _backoff = new Backoff(options);
    }

    /// <summary>A connection was established, new or resumed; raised before the client subscribes again and sends what it queued.</summary>
    public event EventHandler<ConnectedEventArgs>? Connected;

    /// <summary>The connection closed or broke.</summary>
    public event EventHandler<DisconnectedEventArgs>? Disconnected;

    /// <summary>The gateway resumed the previous connection (same id, subscriptions kept, missed frames follow).</summary>
    public event EventHandler<ResumedEventArgs>? Resumed;

    /// <summary>A subscription was made again on a new connection; says whether every missed event follows.</summary>
    public event EventHandler<RecoveredEventArgs>? Recovered;

    /// <summary>Something failed that the client deals with by itself (handshake refused, refresh failed, resume refused).</summary>
    public event EventHandler<GatewayErrorEventArgs>? Error;

    /// <summary>A frame that answers no command and belongs to no subscription (pushes, user sends, broadcasts).</summary>
    public event EventHandler<GatewayMessageEventArgs>? MessageReceived;

    /// <summary>The id of the current (or last) connection.</summary>
    public string? ConnectionId { get; private set; }

    /// <summary>True while a connection is open and the queue has been sent.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return _ready;
            }
        }
    }

    /// <summary>The current resume token, when the gateway gives them.</summary>
    public string? ResumeToken
    {
        get
        {
            lock (_gate)
            {
                return _resumeToken;
            }
        }
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Starts the connection loop and waits until the first connection is open (it keeps trying, with backoff, until
    /// <paramref name="cancellationToken"/> ends the wait; the loop goes on until the client is disposed).
    /// </summary>
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        lock (_gate)
        {
            _run ??= Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        }

        return _firstConnection.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Subscribes to a topic or pattern, optionally from a position of its history, and waits for the answer.</summary>
    public async Task<TopicSubscription> SubscribeAsync(string channel, StreamPosition? since = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var subscription = new TopicSubscription(this, channel, _options.SubscriptionBufferSize);
        lock (_gate)
        {
            if (_subscriptions.ContainsKey(channel))
            {
                throw new InvalidOperationException($"already subscribed to {channel}");
            }

            _subscriptions[channel] = subscription;
            if (since is not null && !TopicPattern.IsPattern(channel))
            {
                _cursors[channel] = new TopicCursor { Offset = since.Offset, Epoch = since.Epoch };
            }
        }

        try
        {
            var (command, frame) = SubscribeCommand(subscription, since, resubscribe: false);
            var answer = RequestCoreAsync(command, frame, cancellationToken);

            // The subscription is ready on this answer or, after a reconnect, on the answer to subscribing again.
            _ = answer.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                await subscription.Ready.Task.WaitAsync(_options.CommandTimeout, _time, cancellationToken);
            }
            catch (TimeoutException) when (subscription.Ready.Task.IsCompleted)
            {
                await subscription.Ready.Task;
            }

            return subscription;
        }
        catch
        {
            Forget(subscription);
            throw;
        }
    }

    /// <summary>Unsubscribes and waits for the gateway's answer; the subscription's events end.</summary>
    public async Task UnsubscribeAsync(TopicSubscription subscription, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        if (!Forget(subscription))
        {
            return;
        }

        await RequestAsync("unsubscribe", new Dictionary<string, object?> { ["channel"] = subscription.Channel }, cancellationToken);
    }

    /// <summary>Sends <c>ping</c> and returns the round trip.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var started = _time.GetTimestamp();
        await RequestAsync("ping", null, cancellationToken);
        return _time.GetElapsedTime(started);
    }

    /// <summary>Publishes an event to a topic (the gateway's <c>Topics:ClientPublish</c> must allow it); the answer carries <c>offset</c> and <c>epoch</c> where the topic keeps history.</summary>
    public Task<JsonElement> PublishAsync(string channel, string type, object? data, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(type);
        var dataElement = JsonSerializer.SerializeToElement(data, PayloadJson);
        var id = NextId();
        var frame = Frame("publish", id, w =>
        {
            // With commands named in "type", the event's own type goes under "data" with the rest.
            if (_options.CommandNaming == CommandNaming.Type)
            {
                w.WriteStartObject("data");
            }

            w.WriteString("channel", channel);
            w.WriteString("type", type);
            w.WritePropertyName("data");
            dataElement.WriteTo(w);
            if (_options.CommandNaming == CommandNaming.Type)
            {
                w.WriteEndObject();
            }
        });
        return RequestCoreAsync(new PendingCommand(id, null, null), frame, cancellationToken);
    }

    /// <summary>Reads a topic's history (<c>history</c> command): events after <paramref name="since"/>, at most <paramref name="limit"/>.</summary>
    public Task<JsonElement> HistoryAsync(string channel, StreamPosition? since = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        var payload = new Dictionary<string, object?> { ["channel"] = channel };
        if (since is not null)
        {
            payload["since"] = new Dictionary<string, object?> { ["offset"] = since.Offset, ["epoch"] = since.Epoch };
        }

        if (limit is not null)
        {
            payload["limit"] = limit;
        }

        return RequestAsync("history", payload, cancellationToken);
    }

    /// <summary>Asks who is present on a topic (<c>presence</c> command).</summary>
    public Task<JsonElement> PresenceAsync(string channel, CancellationToken cancellationToken = default) =>
        RequestAsync("presence", new Dictionary<string, object?> { ["channel"] = channel }, cancellationToken);

    /// <summary>Renews the connection's token now (<c>refresh</c>) with one from the token provider; the client also does this before each token expires.</summary>
    public async Task<JsonElement> RefreshAsync(CancellationToken cancellationToken = default)
    {
        var token = _options.TokenProvider is { } provider ? await provider(cancellationToken) : null;
        if (string.IsNullOrEmpty(token))
        {
            throw new InvalidOperationException("the token provider gave no token to refresh with");
        }

        var answer = await RequestAsync("refresh", new Dictionary<string, object?> { ["token"] = token }, cancellationToken);
        lock (_gate)
        {
            _token = token;
        }

        return answer;
    }

    /// <summary>
    /// Sends a command <c>{"action": action, …payload, "id": n}</c> (<c>type</c> with <see cref="CommandNaming.Type"/>)
    /// and waits for the frame that echoes the id: a route whose answer echoes <c>id</c>, or a built-in command. An
    /// <c>error</c> answer throws <see cref="GatewayCommandException"/>; no answer within the command timeout, <see cref="TimeoutException"/>.
    /// </summary>
    public Task<JsonElement> RequestAsync(string action, object? payload = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(action);
        var id = NextId();
        return RequestCoreAsync(new PendingCommand(id, action == "refresh" ? OnRefreshed : null, null), Frame(action, id, Members(payload)), cancellationToken);
    }

    /// <summary>Sends <c>{"action": action, …payload}</c> without waiting for an answer; queued while disconnected.</summary>
    public ValueTask SendAsync(string action, object? payload = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(action);
        return SendFrameAsync(new OutgoingFrame(Frame(action, null, Members(payload)), null), cancellationToken);
    }

    /// <summary>Sends a text frame as it is; queued while disconnected.</summary>
    public ValueTask SendTextAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendFrameAsync(new OutgoingFrame(Encoding.UTF8.GetBytes(text), null), cancellationToken);
    }

    /// <summary>
    /// Sends a message to a route that streams its answer (the connector envelope: <c>ack</c>, <c>stream_start</c>,
    /// <c>stream_chunk</c>…, <c>stream_end</c>, or one <c>response</c>) and yields each chunk's text as it arrives.
    /// An <c>error</c> frame throws <see cref="GatewayCommandException"/>; <paramref name="idleTimeout"/> (the command
    /// timeout by default) bounds the wait for each next frame.
    /// </summary>
    public async IAsyncEnumerable<string> StreamAsync(string action, object? payload = null, TimeSpan? idleTimeout = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(action);
        var id = NextId();
        var frames = Channel.CreateUnbounded<JsonElement>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _streams[id] = frames;
        try
        {
            await SendFrameAsync(new OutgoingFrame(Frame(action, id, Members(payload)), null), cancellationToken);
            var wait = idleTimeout ?? _options.CommandTimeout;
            while (true)
            {
                JsonElement frame;
                try
                {
                    frame = await frames.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(wait, _time, cancellationToken);
                }
                catch (ChannelClosedException ex)
                {
                    throw ex.InnerException ?? ex;
                }

                switch (StringOf(frame, "type"))
                {
                    case "stream_chunk":
                        yield return StringOf(frame, "chunk") ?? "";
                        break;
                    case "response":
                        yield return StringOf(frame, "response") ?? "";
                        yield break;
                    case "stream_end":
                        yield break;
                    case "error":
                        throw new GatewayCommandException(StringOf(frame, "code") ?? "error", StringOf(frame, "message") ?? "the stream failed") { Frame = frame.GetRawText() };
                    default:
                        // ack, stream_start: the stream is under way.
                        break;
                }
            }
        }
        finally
        {
            _streams.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Closes the socket with 4000 ("I will resume") and connects again: the gateway keeps the session for its resume
    /// window, and the next connection resumes it (after a network change, say). Sends wait in the queue meanwhile.
    /// </summary>
    public async Task ReconnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ClientWebSocket? socket;
        lock (_gate)
        {
            socket = _socket;
            _ready = false;
        }

        if (socket is not { State: WebSocketState.Open })
        {
            return;
        }

        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await socket.CloseOutputAsync((WebSocketCloseStatus)4000, "resume", CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // A socket that is already broken goes the same way: the connection loop reconnects.
            socket.Abort();
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Closes the connection normally (1000, which ends a resumable session at once) and stops reconnecting.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ClientWebSocket? socket;
        lock (_gate)
        {
            socket = _socket;
            _ready = false;
        }

        if (socket is { State: WebSocketState.Open } && _run is { } running)
        {
            // The close handshake is bounded on the wall clock: it waits on the network, never on an injected clock.
            using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _sendLock.WaitAsync(closing.Token);
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", closing.Token);
                }
                finally
                {
                    _sendLock.Release();
                }

                // The receive loop ends on the gateway's answering close frame.
                await running.WaitAsync(closing.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidOperationException or TimeoutException)
            {
                socket.Abort();
            }
        }

        await _stop.CancelAsync();
        if (_run is { } run)
        {
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
            }
        }

        var disposed = new ObjectDisposedException(nameof(GatewayClient));
        foreach (var pending in _pending.Values)
        {
            pending.Answer.TrySetException(disposed);
            pending.Subscription?.Ready.TrySetException(disposed);
        }

        _pending.Clear();
        foreach (var stream in _streams.Values)
        {
            stream.Writer.TryComplete(disposed);
        }

        lock (_gate)
        {
            foreach (var subscription in _subscriptions.Values)
            {
                subscription.Active = false;
                subscription.Events.Writer.TryComplete();
            }

            _subscriptions.Clear();
        }

        _firstConnection.TrySetException(disposed);
        _ = _firstConnection.Task.Exception;
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var attempt = 0;
        var everConnected = false;
        while (!stop.IsCancellationRequested && !IsDisposed)
        {
            var socket = new ClientWebSocket();
            Task? receive = null;
            var session = new Session();
            var established = false;
            Exception? failure = null;
            try
            {
                var uri = await PrepareAsync(socket, stop);
                await socket.ConnectAsync(uri, stop);
                lock (_gate)
                {
                    _socket = socket;
                }

                receive = ReceiveLoopAsync(socket, session, stop);
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var first = await Task.WhenAny(session.Handshake.Task, receive, Task.Delay(_options.ConnectedFrameTimeout, _time, waiting.Token));
                await waiting.CancelAsync();
                if (first == receive)
                {
                    await receive;
                    throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "the connection closed before its first frame");
                }

                stop.ThrowIfCancellationRequested();
                session.Handshake.TrySetResult(new Handshake(null, false, null, 0));
                var handshake = await session.Handshake.Task;
                established = true;
                everConnected = true;
                await EstablishAsync(socket, handshake, stop);
                attempt = 0;
                _firstConnection.TrySetResult();

                _ = RefreshLoopAsync(session.Ended.Token);
                await receive;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failure = ex;
                if (!established)
                {
                    Raise(Error, new GatewayErrorEventArgs(ex));
                }
            }
            finally
            {
                await session.Ended.CancelAsync();
                lock (_gate)
                {
                    _ready = false;
                    if (_socket == socket)
                    {
                        _socket = null;
                    }
                }

                socket.Abort();
                if (receive is not null)
                {
                    try
                    {
                        await receive;
                    }
                    catch (Exception ex)
                    {
                        // Whatever ended the receive loop, the connection loop goes on to reconnect.
                        failure ??= ex;
                    }
                }

                if (established)
                {
                    Raise(Disconnected, new DisconnectedEventArgs((int?)socket.CloseStatus, socket.CloseStatusDescription, socket.CloseStatus is null ? failure : null, !stop.IsCancellationRequested && !IsDisposed));
                }

                session.Dispose();
                socket.Dispose();
            }

            if (stop.IsCancellationRequested || IsDisposed)
            {
                break;
            }

            var delay = _backoff.Delay(everConnected ? attempt : attempt + 1);
            attempt++;
            try
            {
                await Task.Delay(delay, _time, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>The token (from the provider) and the URL (with <c>resume=</c> when there is a session to resume) of the next connect.</summary>
    private async Task<Uri> PrepareAsync(ClientWebSocket socket, CancellationToken stop)
    {
        var token = _options.TokenProvider is { } provider ? await provider(stop) : null;
        string? resume;
        lock (_gate)
        {
            _token = token;
            resume = _options.Resume ? _resumeToken : null;
        }

        socket.Options.CollectHttpResponseDetails = true;
        if (!string.IsNullOrEmpty(token))
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        }

        _options.ConfigureSocket?.Invoke(socket.Options);
        var url = _options.Url!;
        if (resume is null)
        {
            return url;
        }

        var builder = new UriBuilder(url);
        var query = builder.Query.TrimStart('?');
        var received = Interlocked.Read(ref _sessionReceived).ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Query = (query.Length > 0 ? query + "&" : "") + "resume=" + Uri.EscapeDataString(resume) + "&received=" + received;
        return builder.Uri;
    }

    /// <summary>
    /// Makes a new socket current: on a fresh connection, fails the commands the old one took with it and subscribes
    /// every topic again from where it left off; then sends what was queued, and opens the way for direct sends.
    /// </summary>
    private async Task EstablishAsync(ClientWebSocket socket, Handshake handshake, CancellationToken stop)
    {
        long generation;
        List<(TopicSubscription Subscription, StreamPosition? Since)> again = [];
        lock (_gate)
        {
            generation = ++_generation;
            ConnectionId = handshake.ConnectionId ?? ConnectionId;
            _resumeToken = handshake.ResumeToken;
            if (!handshake.Resumed)
            {
                // A subscribe still waiting in the outgoing queue goes out with the queue, not twice.
                var queued = _outgoing.Where(f => f.Command?.Subscription is not null).Select(f => f.Command!.Subscription).ToHashSet();
                foreach (var subscription in _subscriptions.Values)
                {
                    if (queued.Contains(subscription))
                    {
                        continue;
                    }

                    StreamPosition? since = null;
                    if (!TopicPattern.IsPattern(subscription.Channel) && _cursors.TryGetValue(subscription.Channel, out var cursor) && cursor is { Offset: { } offset, Epoch: { } epoch })
                    {
                        since = new StreamPosition(offset, epoch);
                    }

                    again.Add((subscription, since));
                }
            }
        }

        // Before anything is sent on the new socket, so that these come ahead of the answers to it (Recovered).
        Raise(Connected, new ConnectedEventArgs(handshake.ConnectionId, handshake.Resumed, handshake.Frame));
        if (handshake.Resumed)
        {
            Raise(Resumed, new ResumedEventArgs(handshake.ConnectionId!, handshake.Missed));
        }

        if (!handshake.Resumed)
        {
            var lost = new GatewayConnectionLostException();
            foreach (var pending in _pending.Values)
            {
                if (pending.Generation != 0 && pending.Generation < generation && _pending.TryRemove(pending.Id, out _))
                {
                    // A subscribe is made again below; its subscription waits for that answer instead.
                    if (pending.Subscription is null)
                    {
                        pending.Answer.TrySetException(lost);
                    }
                    else
                    {
                        pending.Answer.TrySetCanceled(CancellationToken.None);
                    }
                }
            }

            foreach (var (id, stream) in _streams)
            {
                if (_streams.TryRemove(id, out _))
                {
                    stream.Writer.TryComplete(lost);
                }
            }
        }

        await _sendLock.WaitAsync(stop);
        try
        {
            foreach (var (subscription, since) in again)
            {
                var (command, frame) = SubscribeCommand(subscription, since, resubscribe: true);
                command.Generation = generation;
                _pending[command.Id] = command;
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, stop);
                ObserveTimeout(command);
            }

            while (true)
            {
                OutgoingFrame next;
                lock (_gate)
                {
                    if (_outgoing.Count == 0)
                    {
                        _ready = true;
                        break;
                    }

                    next = _outgoing.Peek();
                }

                if (next.Command is { } queued)
                {
                    queued.Generation = generation;
                }

                await socket.SendAsync(next.Utf8, WebSocketMessageType.Text, true, stop);
                lock (_gate)
                {
                    _outgoing.Dequeue();
                }
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Renews the token in-band before it expires, as long as this connection lasts.</summary>
    private async Task RefreshLoopAsync(CancellationToken ended)
    {
        try
        {
            while (!ended.IsCancellationRequested && _options.TokenProvider is not null && _options.RefreshBeforeExpiry > TimeSpan.Zero)
            {
                string? token;
                lock (_gate)
                {
                    token = _token;
                }

                if (JwtExpiry.Of(token) is not { } expires)
                {
                    return;
                }

                var due = expires - _options.RefreshBeforeExpiry - _time.GetUtcNow();
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, _time, ended);
                }

                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ended);
                await RefreshAsync(linked.Token);
                lock (_gate)
                {
                    if (JwtExpiry.Of(_token) is { } renewed && renewed <= expires)
                    {
                        // The provider gave no later token: asking again now would only spin.
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Raise(Error, new GatewayErrorEventArgs(ex));
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket, Session session, CancellationToken stop)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            message.SetLength(0);
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(), stop);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            var bytes = message.GetBuffer().AsMemory(0, (int)message.Length);
            if (result.MessageType == WebSocketMessageType.Binary)
            {
                Interlocked.Increment(ref _sessionReceived);
                Raise(MessageReceived, new GatewayMessageEventArgs(null, bytes.ToArray()));
                continue;
            }

            await DispatchAsync(bytes, session, stop);
        }
    }

    private async ValueTask DispatchAsync(ReadOnlyMemory<byte> utf8, Session session, CancellationToken stop)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8);
        }
        catch (JsonException)
        {
            FreshWithoutConnectedFrame(session);
            Interlocked.Increment(ref _sessionReceived);
            Raise(MessageReceived, new GatewayMessageEventArgs(Encoding.UTF8.GetString(utf8.Span), default));
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                FreshWithoutConnectedFrame(session);
                Interlocked.Increment(ref _sessionReceived);
                Raise(MessageReceived, new GatewayMessageEventArgs(Encoding.UTF8.GetString(utf8.Span), default));
                return;
            }

            var type = StringOf(root, "type");
            if (!session.Handshake.Task.IsCompleted && HandleHandshake(root, type, session))
            {
                return;
            }

            Interlocked.Increment(ref _sessionReceived);
            if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.Number && idElement.TryGetInt64(out var id))
            {
                if (_streams.TryGetValue(id, out var stream))
                {
                    stream.Writer.TryWrite(root.Clone());
                    return;
                }

                if (_pending.TryRemove(id, out var pending))
                {
                    Answer(pending, root, type);
                    return;
                }
            }

            if (type is not null && StringOf(root, "channel") is { } channel && !IsCommandAnswer(type, root))
            {
                await DeliverAsync(root, type, channel, utf8, stop);
                return;
            }

            Raise(MessageReceived, new GatewayMessageEventArgs(Encoding.UTF8.GetString(utf8.Span), default));
        }
    }

    /// <summary>The first frames of a socket: <c>connected</c>, <c>resumed</c>, or a refused resume then <c>connected</c>. True when the frame was one of them.</summary>
    private bool HandleHandshake(JsonElement root, string? type, Session session)
    {
        switch (type)
        {
            case "connected":
                // A new session: the count starts again.
                Interlocked.Exchange(ref _sessionReceived, 0);
                session.Handshake.TrySetResult(new Handshake(StringOf(root, "connectionId"), false, StringOf(root, "resumeToken"), 0) { Frame = root.GetRawText() });
                return true;
            case "resumed":
                var missed = root.TryGetProperty("missed", out var m) && m.TryGetInt32(out var n) ? n : 0;
                session.Handshake.TrySetResult(new Handshake(StringOf(root, "connectionId"), true, StringOf(root, "resumeToken"), missed) { Frame = root.GetRawText() });
                return true;
            case "error" when StringOf(root, "code") == "resume_failed":
                lock (_gate)
                {
                    _resumeToken = null;
                }

                Raise(Error, new GatewayErrorEventArgs(new GatewayCommandException("resume_failed", StringOf(root, "message") ?? "the gateway refused to resume") { Frame = root.GetRawText() }));
                return true;
            default:
                FreshWithoutConnectedFrame(session);
                return false;
        }
    }

    /// <summary>A gateway that sends no connected frame: the first frame is the first of a new connection's traffic.</summary>
    private void FreshWithoutConnectedFrame(Session session)
    {
        if (session.Handshake.TrySetResult(new Handshake(null, false, null, 0)))
        {
            Interlocked.Exchange(ref _sessionReceived, 0);
        }
    }

    private void Answer(PendingCommand pending, JsonElement root, string? type)
    {
        if (type is "error" or "publish_failed")
        {
            var code = StringOf(root, "code") ?? StringOf(root, "reason") ?? type;
            var failure = new GatewayCommandException(code, StringOf(root, "message") ?? code) { Frame = root.GetRawText() };
            if (pending.Subscription is { } subscription)
            {
                Forget(subscription);
                subscription.Ready.TrySetException(failure);
                subscription.Events.Writer.TryComplete(failure);
            }

            pending.Answer.TrySetException(failure);
            return;
        }

        try
        {
            pending.OnAnswer?.Invoke(root);
        }
        catch (Exception ex) when (ex is InvalidOperationException or JsonException or FormatException)
        {
            pending.Answer.TrySetException(ex);
            return;
        }

        pending.Answer.TrySetResult(root.Clone());
    }

    /// <summary>Delivers a topic event to every subscription it matches, once: an offset at or below the last one received is a repeat.</summary>
    private async ValueTask DeliverAsync(JsonElement root, string type, string channel, ReadOnlyMemory<byte> utf8, CancellationToken stop)
    {
        long? offset = root.TryGetProperty("offset", out var o) && o.TryGetInt64(out var value) ? value : null;
        List<TopicSubscription>? targets = null;
        lock (_gate)
        {
            foreach (var subscription in _subscriptions.Values)
            {
                if (TopicPattern.Matches(subscription.Channel, channel))
                {
                    (targets ??= []).Add(subscription);
                }
            }

            if (targets is not null && offset is { } n)
            {
                if (!_cursors.TryGetValue(channel, out var cursor))
                {
                    _cursors[channel] = cursor = new TopicCursor();
                }

                if (cursor.Offset is { } last && n <= last)
                {
                    return;
                }

                cursor.Offset = n;
            }
        }

        var text = Encoding.UTF8.GetString(utf8.Span);
        if (targets is null)
        {
            Raise(MessageReceived, new GatewayMessageEventArgs(text, default));
            return;
        }

        var data = root.TryGetProperty("data", out var d) ? d.Clone() : default;
        var topicEvent = new TopicEvent(channel, type, data, offset, text);
        foreach (var subscription in targets)
        {
            try
            {
                await subscription.Events.Writer.WriteAsync(topicEvent, stop);
            }
            catch (ChannelClosedException)
            {
                // Unsubscribed meanwhile.
            }
        }
    }

    private static bool IsCommandAnswer(string type, JsonElement root) =>
        type is "subscribed" or "unsubscribed" or "published" or "publish_failed" or "history" or "presence" or "error" or "pong" or "refreshed"
        && (root.TryGetProperty("id", out _) || root.TryGetProperty("by", out _) || type is not ("subscribed" or "unsubscribed"));

    private (PendingCommand Command, byte[] Frame) SubscribeCommand(TopicSubscription subscription, StreamPosition? since, bool resubscribe)
    {
        var id = NextId();
        var command = new PendingCommand(id, answer => OnSubscribed(subscription, answer, since, resubscribe), subscription);
        var frame = Frame("subscribe", id, w =>
        {
            w.WriteString("channel", subscription.Channel);
            if (since is not null)
            {
                w.WriteStartObject("since");
                w.WriteNumber("offset", since.Offset);
                w.WriteString("epoch", since.Epoch);
                w.WriteEndObject();
            }
        });
        return (command, frame);
    }

    /// <summary>
    /// A <c>subscribed</c> answer, handled on the receive loop before the events that follow it: a recovery keeps the
    /// client's offset (the missed events follow); otherwise the topic's latest offset is where live events start.
    /// </summary>
    private void OnSubscribed(TopicSubscription subscription, JsonElement answer, StreamPosition? since, bool resubscribe)
    {
        var epoch = StringOf(answer, "epoch");
        bool? recovered = answer.TryGetProperty("recovered", out var r) && r.ValueKind is JsonValueKind.True or JsonValueKind.False ? r.GetBoolean() : null;
        long? offset = answer.TryGetProperty("offset", out var o) && o.TryGetInt64(out var n) ? n : null;
        lock (_gate)
        {
            subscription.Epoch = epoch;
            subscription.Recovered = recovered;
            if (epoch is not null && !TopicPattern.IsPattern(subscription.Channel))
            {
                if (!_cursors.TryGetValue(subscription.Channel, out var cursor))
                {
                    _cursors[subscription.Channel] = cursor = new TopicCursor();
                }

                cursor.Epoch = epoch;
                if (recovered != true)
                {
                    cursor.Offset = offset;
                }
            }
        }

        subscription.Ready.TrySetResult();
        if (resubscribe)
        {
            Raise(Recovered, new RecoveredEventArgs(subscription.Channel, recovered ?? false, since));
        }
    }

    private void OnRefreshed(JsonElement answer)
    {
        if (StringOf(answer, "resumeToken") is { } token)
        {
            lock (_gate)
            {
                _resumeToken = token;
            }
        }
    }

    private bool Forget(TopicSubscription subscription)
    {
        lock (_gate)
        {
            if (!subscription.Active)
            {
                return false;
            }

            subscription.Active = false;
            if (_subscriptions.TryGetValue(subscription.Channel, out var current) && current == subscription)
            {
                _subscriptions.Remove(subscription.Channel);
            }
        }

        subscription.Events.Writer.TryComplete();
        return true;
    }

    private async Task<JsonElement> RequestCoreAsync(PendingCommand command, byte[] frame, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        _pending[command.Id] = command;
        try
        {
            await SendFrameAsync(new OutgoingFrame(frame, command), cancellationToken);
            try
            {
                return await command.Answer.Task.WaitAsync(_options.CommandTimeout, _time, cancellationToken);
            }
            catch (TimeoutException) when (command.Answer.Task.IsCompleted)
            {
                // The answer came as the deadline passed (a clock that jumps): the answer wins.
                return await command.Answer.Task;
            }
        }
        finally
        {
            _pending.TryRemove(command.Id, out _);
        }
    }

    /// <summary>A resubscribe nobody awaits: its timeout is reported, and the subscription is made again on the next connection.</summary>
    private void ObserveTimeout(PendingCommand command)
    {
        _ = command.Answer.Task.WaitAsync(_options.CommandTimeout, _time).ContinueWith(
            t =>
            {
                _pending.TryRemove(command.Id, out _);
                if (t.Exception?.InnerException is { } ex && ex is not ObjectDisposedException)
                {
                    Raise(Error, new GatewayErrorEventArgs(ex));
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async ValueTask SendFrameAsync(OutgoingFrame frame, CancellationToken cancellationToken)
    {
        while (true)
        {
            ClientWebSocket socket;
            long generation;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(IsDisposed, this);
                if (!_ready || _socket is null)
                {
                    if (_outgoing.Count >= _options.OutgoingQueueLimit)
                    {
                        throw new OutgoingQueueFullException();
                    }

                    _outgoing.Enqueue(frame);
                    return;
                }

                socket = _socket;
                generation = _generation;
            }

            await _sendLock.WaitAsync(cancellationToken);
            try
            {
                lock (_gate)
                {
                    if (!_ready || _socket != socket)
                    {
                        continue;
                    }
                }

                if (frame.Command is { } command)
                {
                    command.Generation = generation;
                }

                // Not cancellable: a cancelled send would abort the socket for everyone.
                await socket.SendAsync(frame.Utf8, WebSocketMessageType.Text, true, CancellationToken.None);
                return;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
                // The socket broke under the send: the frame waits for the next connection.
                lock (_gate)
                {
                    if (_socket == socket)
                    {
                        _ready = false;
                    }
                }

                socket.Abort();
            }
            finally
            {
                _sendLock.Release();
            }
        }
    }

    private long NextId() => Interlocked.Increment(ref _nextId);

    private byte[] Frame(string command, long? id, Action<Utf8JsonWriter>? members)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(_options.CommandNaming == CommandNaming.Type ? "type" : "action", command);
            members?.Invoke(writer);
            if (id is { } n)
            {
                writer.WriteNumber("id", n);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>A payload's members beside the command name: an object's properties, anything else as <c>data</c>.</summary>
    private Action<Utf8JsonWriter>? Members(object? payload)
    {
        if (payload is null)
        {
            return null;
        }

        var element = payload as JsonElement? ?? JsonSerializer.SerializeToElement(payload, payload.GetType(), PayloadJson);
        var naming = _options.CommandNaming == CommandNaming.Type ? "type" : "action";
        return writer =>
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                writer.WritePropertyName("data");
                element.WriteTo(writer);
                return;
            }

            foreach (var property in element.EnumerateObject())
            {
                if (property.NameEquals(naming) || property.NameEquals("id"))
                {
                    continue;
                }

                property.WriteTo(writer);
            }
        };
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(this, args);
        }
#pragma warning disable CA1031 // A subscriber's exception must not end the receive loop.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>What the first frames of a socket said.</summary>
    private sealed record Handshake(string? ConnectionId, bool Resumed, string? ResumeToken, int Missed)
    {
        public string? Frame { get; init; }
    }

    /// <summary>The life of one socket: its handshake, and its end (which stops its refresh loop).</summary>
    private sealed class Session : IDisposable
    {
        public TaskCompletionSource<Handshake> Handshake { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenSource Ended { get; } = new();

        public void Dispose() => Ended.Dispose();
    }
}
