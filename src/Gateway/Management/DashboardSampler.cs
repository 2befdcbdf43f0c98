using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Diagnostics;
using Gateway.Topics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// Samples this node for the admin dashboard every <see cref="DashboardOptions.SampleInterval"/> on the injected clock
/// (connections, message rates, topics), keeps the last <see cref="DashboardOptions.Samples"/>, and reports them to the
/// other nodes through the backplane. Sample times are multiples of the interval, so the nodes' samples line up.
/// </summary>
public sealed partial class DashboardSampler(
    IOptions<GatewayOptions> options,
    GatewayNode node,
    ConnectionRegistry registry,
    TopicHub topics,
    GatewayMetrics metrics,
    IBackplane backplane,
    TimeProvider time,
    ILogger<DashboardSampler> logger) : IHostedService, IDisposable
{
    /// <summary>How many of its most subscribed patterns a node reports.</summary>
    public const int TopTopics = 50;

    private readonly DashboardOptions _options = options.Value.Management.Dashboard;
    private readonly Lock _lock = new();
    private readonly Queue<NodeSample> _samples = new();
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private ITimer? _timer;
    private long _lastIn;
    private long _lastOut;
    private long _lastAt;
    private NodeReport? _latest;
    private int _reporting;
    private int _ticking;

    /// <summary>This node's latest report, made now when none has been made yet.</summary>
    public NodeReport Latest => Volatile.Read(ref _latest) ?? Report(Sample(record: false));

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return Task.CompletedTask;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        _lastAt = now;
        _lastIn = metrics.ReceivedTotal;
        _lastOut = metrics.SentTotal;
        var interval = (long)_options.SampleInterval.TotalMilliseconds;
        var first = TimeSpan.FromMilliseconds(interval - (now % interval));
        _timer = time.CreateTimer(static state => ((DashboardSampler)state!).Tick(), this, first, _options.SampleInterval);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose() => _timer?.Dispose();

    private void Tick()
    {
        // A timer callback must never throw (it would end the process), and ticks must not overlap (an older report
        // would overwrite a newer one): a tick that finds the previous one still at work is skipped.
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }

        try
        {
            var report = Report(Sample(record: true));
            Volatile.Write(ref _latest, report);

            // One report on its way at a time: a slow Redis drops samples rather than piling up calls.
            if (Interlocked.Exchange(ref _reporting, 1) == 0)
            {
                _ = SendAsync(report);
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            Log.SampleFailed(logger, ex);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private async Task SendAsync(NodeReport report)
    {
        try
        {
            // Reports outlive a few missed samples, so that a live node never drops out of the others' lists.
            var lifetime = TimeSpan.FromTicks(Math.Max(3 * _options.SampleInterval.Ticks, TimeSpan.FromSeconds(15).Ticks));
            await backplane.ReportAsync(report, lifetime, CancellationToken.None);
        }
        catch (Exception ex) when (ex is BackplaneUnavailableException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            Log.ReportFailed(logger, ex);
        }
        finally
        {
            Volatile.Write(ref _reporting, 0);
        }
    }

    private NodeSample Sample(bool record)
    {
        var interval = (long)_options.SampleInterval.TotalMilliseconds;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var received = metrics.ReceivedTotal;
        var sent = metrics.SentTotal;
        lock (_lock)
        {
            var seconds = Math.Max(0.001, (now - _lastAt) / 1000.0);
            // The nearest multiple of the interval: a tick a little early or late still lands in its own slot.
            var slot = (now + (interval / 2)) / interval * interval;
            var sample = new NodeSample(slot, registry.Count, (received - _lastIn) / seconds, (sent - _lastOut) / seconds);
            if (record)
            {
                (_lastAt, _lastIn, _lastOut) = (now, received, sent);
                if (_samples.Count > 0 && _samples.Last().Time == sample.Time)
                {
                    return sample; // a late tick in the same slot: the slot keeps its first sample
                }

                _samples.Enqueue(sample);
                while (_samples.Count > _options.Samples)
                {
                    _samples.Dequeue();
                }
            }

            return sample;
        }
    }

    private NodeReport Report(NodeSample current)
    {
        NodeSample[] samples;
        lock (_lock)
        {
            samples = [.. _samples];
        }

        var (top, patterns) = topics.TopPatterns(TopTopics);
        return new NodeReport(node.Id, _startedAt, time.GetUtcNow(), registry.Count, topics.SubscriptionCount,
            current.MessagesIn, current.MessagesOut, samples, top, patterns);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1452, Level = LogLevel.Warning, Message = "Sampling this node for the dashboard failed")]
        public static partial void SampleFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1451, Level = LogLevel.Debug, Message = "The dashboard's node report could not be handed to the backplane")]
        public static partial void ReportFailed(ILogger logger, Exception exception);
    }
}
