using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Protocol;
using Gateway.Topics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Presence;

/// <summary>
/// Posts topic events to the backends of <c>Topics:Webhooks</c>: <c>{"id","event","channel","member"?,"node","timestamp"}</c>,
/// signed with HMAC-SHA256 (<c>X-Gateway-Signature: sha256=hex</c> over <c>{X-Gateway-Timestamp}.{body}</c>). Each
/// webhook has its own bounded queue and sender, so a dead backend holds up only its own events and never a delivery to
/// clients: an event is posted at least once, retried with doubling waits, and given up (logged, counted) after
/// <c>MaxAttempts</c>; an event that finds its queue full is dropped, logged and counted.
/// </summary>
public sealed partial class TopicWebhooks : IHostedService, IDisposable
{
    /// <summary>The named HTTP client webhooks are posted with.</summary>
    public const string ClientName = "gateway-webhooks";

    private static readonly TimeSpan LongestWait = TimeSpan.FromMinutes(1);

    private readonly IHttpClientFactory _clients;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Diagnostics.GatewayMetrics? _metrics;
    private readonly List<(TopicWebhookOptions Options, Channel<Pending> Queue)> _hooks = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _senders = [];
    private bool _disposed;

    /// <summary>Creates the webhooks of <c>Topics:Webhooks</c>; they post once the host starts.</summary>
    public TopicWebhooks(IOptions<GatewayOptions> options, IHttpClientFactory clients, TimeProvider time, ILogger<TopicWebhooks> logger, Diagnostics.GatewayMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clients = clients;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        foreach (var hook in options.Value.Topics.Webhooks)
        {
            _hooks.Add((hook, Channel.CreateBounded<Pending>(new BoundedChannelOptions(hook.QueueLimit) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite })));
        }
    }

    /// <summary>
    /// Queues <paramref name="name"/> (<c>occupied</c>, <c>vacated</c>, <c>join</c>, <c>leave</c>) of <paramref name="topic"/>
    /// for every webhook that wants it; never waits.
    /// </summary>
    public void Post(string name, string topic, PresenceMember? member, string nodeId)
    {
        byte[]? body = null;
        foreach (var (hook, queue) in _hooks)
        {
            if (!hook.Events.Contains(name) || !TopicName.Matches(hook.Pattern, topic))
            {
                continue;
            }

            body ??= Body(name, topic, member, nodeId);
            if (!queue.Writer.TryWrite(new Pending(name, topic, body)))
            {
                _metrics?.Webhook(name, "dropped");
                Log.Dropped(_logger, name, topic, Shown(hook), hook.QueueLimit);
            }
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (hook, queue) in _hooks)
        {
            _senders.Add(Task.Run(() => SendAsync(hook, queue.Reader), CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_disposed)
        {
            return;
        }

        foreach (var (_, queue) in _hooks)
        {
            queue.Writer.TryComplete();
        }

        // No more waits between attempts: what is queued gets one more attempt each while the host's shutdown allows.
        try
        {
            await _stopping.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: nothing is left to stop.
            return;
        }

        await Task.WhenAll(_senders).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _stopping.Dispose();
    }

    /// <summary>The signature of <paramref name="body"/> posted at <paramref name="timestamp"/> (Unix seconds) with <paramref name="secret"/>: lowercase hex.</summary>
    public static string Sign(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(timestamp);
        var signed = new byte[Encoding.UTF8.GetByteCount(timestamp) + 1 + body.Length];
        var at = Encoding.UTF8.GetBytes(timestamp, signed);
        signed[at++] = (byte)'.';
        body.CopyTo(signed.AsSpan(at));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    private byte[] Body(string name, string topic, PresenceMember? member, string nodeId)
    {
        using var frame = FrameJson.Start();
        var writer = frame.Json;
        writer.WriteStartObject();
        writer.WriteString("id", Guid.NewGuid().ToString("N"));
        writer.WriteString("event", name);
        writer.WriteString("channel", topic);
        if (member is not null)
        {
            writer.WritePropertyName("member");
            PresenceFrames.WriteMember(writer, member);
        }

        writer.WriteString("node", nodeId);
        writer.WriteString("timestamp", _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        writer.WriteEndObject();
        return frame.ToArray();
    }

    /// <summary>The webhook's address as logs show it: no user info, no query (either may hold a secret).</summary>
    private static string Shown(TopicWebhookOptions hook) =>
        Uri.TryCreate(hook.Uri, UriKind.Absolute, out var uri) ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.SafeUnescaped) : "(invalid)";

    private async Task SendAsync(TopicWebhookOptions hook, ChannelReader<Pending> queue)
    {
        var uri = new Uri(hook.Uri);
        while (await queue.WaitToReadAsync(CancellationToken.None))
        {
            while (queue.TryRead(out var pending))
            {
                await DeliverAsync(hook, uri, pending);
            }
        }
    }

    private async Task DeliverAsync(TopicWebhookOptions hook, Uri uri, Pending pending)
    {
        var wait = hook.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            var failure = await AttemptAsync(hook, uri, pending.Body);
            if (failure is null)
            {
                _metrics?.Webhook(pending.Name, "delivered");
                return;
            }

            if (attempt >= hook.MaxAttempts || _stopping.IsCancellationRequested)
            {
                _metrics?.Webhook(pending.Name, "failed");
                Log.GaveUp(_logger, pending.Name, pending.Topic, Shown(hook), attempt, failure);
                return;
            }

            _metrics?.Webhook(pending.Name, "retried");
            Log.Retrying(_logger, pending.Name, pending.Topic, Shown(hook), attempt, failure, wait);
            try
            {
                // Yielding: the wait ends in the clock's timer callback, which must not carry on with the next attempt.
                await Task.Delay(wait, _time, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }
            catch (OperationCanceledException)
            {
                // Stopping: one last attempt, then the event is given up.
            }

            wait = wait * 2 > LongestWait ? LongestWait : wait * 2;
        }
    }

    /// <summary>One post; null when the backend answered 2xx, else why not.</summary>
    private async Task<string?> AttemptAsync(TopicWebhookOptions hook, Uri uri, byte[] body)
    {
        using var deadline = new CancellationTokenSource(hook.Timeout, _time);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            var timestamp = _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            request.Headers.Add("X-Gateway-Timestamp", timestamp);
            if (!string.IsNullOrEmpty(hook.Secret))
            {
                request.Headers.Add("X-Gateway-Signature", "sha256=" + Sign(hook.Secret, timestamp, body));
            }

            using var response = await _clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            return response.IsSuccessStatusCode ? null : "status " + (int)response.StatusCode;
        }
        catch (OperationCanceledException)
        {
            return $"no answer within {hook.Timeout.TotalSeconds:0.###} s";
        }
        catch (HttpRequestException ex)
        {
            return ex.HttpRequestError.ToString();
        }
    }

    private sealed record Pending(string Name, string Topic, byte[] Body);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "Webhook {Uri}: posting {Name} of {Topic} failed on attempt {Attempt} ({Failure}); retrying in {Wait}")]
        public static partial void Retrying(ILogger logger, string name, string topic, string uri, int attempt, string failure, TimeSpan wait);

        [LoggerMessage(EventId = 1902, Level = LogLevel.Error, Message = "Webhook {Uri}: {Name} of {Topic} given up after {Attempts} attempts ({Failure})")]
        public static partial void GaveUp(ILogger logger, string name, string topic, string uri, int attempts, string failure);

        [LoggerMessage(EventId = 1903, Level = LogLevel.Warning, Message = "Webhook {Uri}: {Name} of {Topic} dropped, {Limit} events already wait")]
        public static partial void Dropped(ILogger logger, string name, string topic, string uri, int limit);
    }
}
