using System.Security.Cryptography;
using System.Text;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// <c>Idempotency-Key</c> on the management API's <c>POST</c>s: the first call with a key (per resource path, the
/// stage aside) claims it cluster-wide in the backplane's shared keys (<c>SetKeyAsync</c> only if absent, a pending
/// marker), runs, and stores its answer for <c>Management:IdempotencyWindow</c>. A repeat within the window is answered
/// with that first answer (status and body, and <c>Idempotent-Replayed: true</c>) and delivers nothing. A repeat that
/// finds the claim still pending polls for the answer for up to <see cref="PendingWait"/>, then answers 409
/// ConflictException (nothing delivered; retry later). A first call that fails with 5xx, or throws, gives the key up,
/// so that a retry runs again. While the engine cannot be reached, a call with a key answers 503 and delivers nothing.
/// </summary>
/// <param name="backplane">Where keys are claimed (this process on a node alone).</param>
/// <param name="options">The window.</param>
/// <param name="time">The clock of the waits.</param>
/// <param name="logger">Where a failure to store an answer is logged.</param>
/// <param name="metrics">Counts repeats.</param>
internal sealed partial class IdempotencyFilter(IBackplane backplane, IOptions<GatewayOptions> options, TimeProvider time, ILogger<IdempotencyFilter> logger, GatewayMetrics? metrics = null) : IEndpointFilter
{
    /// <summary>The header that carries the key.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>Longest key accepted.</summary>
    public const int MaxKeyLength = 255;

    /// <summary>How long a repeat waits for a pending first call's answer before it answers 409.</summary>
    public static readonly TimeSpan PendingWait = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        if (!HttpMethods.IsPost(http.Request.Method) || !http.Request.Headers.TryGetValue(Header, out var values))
        {
            return await next(context);
        }

        var value = values.ToString();
        if (value.Length is 0 or > MaxKeyLength || value.Any(c => c is < '!' or > '~'))
        {
            return ManagementError.BadRequest($"Invalid {Header}: 1 to {MaxKeyLength} printable ASCII characters without spaces.");
        }

        var key = StoreKey(http.Request.Path.Value ?? "", value);
        var window = options.Value.Management.IdempotencyWindow;
        var started = time.GetTimestamp();
        try
        {
            while (true)
            {
                if (!backplane.IsAvailable)
                {
                    return Unreachable();
                }

                if (await backplane.SetKeyAsync(key, StoredAnswer.Pending, window, onlyIfAbsent: true, http.RequestAborted))
                {
                    break;
                }

                var stored = await backplane.GetKeyAsync(key, http.RequestAborted);
                if (stored is not null && StoredAnswer.FromBytes(stored) is { } first)
                {
                    metrics?.IdempotentRepeat();
                    return first with { Replayed = true };
                }

                // Pending (or given up between the two calls, when the loop claims it again).
                if (stored is not null && time.GetElapsedTime(started) >= PendingWait)
                {
                    return ManagementError.Conflict($"A call with this {Header} is still in progress; nothing was delivered by this one. Retry later.");
                }

                if (stored is not null)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), time, http.RequestAborted);
                }
            }
        }
        catch (BackplaneUnavailableException)
        {
            return Unreachable();
        }

        // Claimed: the call runs (a failure to reach other nodes from here on is the endpoint's own 503).
        return await RunAsync(context, next, key, window);
    }

    /// <summary>The shared key for <paramref name="value"/> on the resource of <paramref name="path"/>: a hash, so any key fits the store.</summary>
    internal static string StoreKey(string path, string value)
    {
        var scope = ManagementRequest.TryParse(path, out var request) ? request.Resource + "/" + request.Id : path;
        return "idem:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(scope + "\n" + value)));
    }

    private async Task<object?> RunAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, string key, TimeSpan window)
    {
        var http = context.HttpContext;
        StoredAnswer answer;
        try
        {
            var result = await next(context);
            if (result is not IResult executable)
            {
                await GiveUpAsync(key);
                return result;
            }

            answer = await StoredAnswer.CaptureAsync(executable, http);
        }
        catch
        {
            await GiveUpAsync(key);
            throw;
        }

        if (answer.Status >= 500)
        {
            await GiveUpAsync(key);
            return answer;
        }

        try
        {
            await backplane.SetKeyAsync(key, answer.ToBytes(), window, onlyIfAbsent: false, CancellationToken.None);
        }
        catch (BackplaneUnavailableException ex)
        {
            // The claim stays pending until the window ends: repeats answer 409 meanwhile, and never deliver again.
            Log.StoreFailed(logger, ex.Message);
        }

        return answer;
    }

    private async Task GiveUpAsync(string key)
    {
        try
        {
            await backplane.DeleteKeyAsync(key, CancellationToken.None);
        }
        catch (BackplaneUnavailableException ex)
        {
            Log.StoreFailed(logger, ex.Message);
        }
    }

    private static ManagementError Unreachable() =>
        ManagementError.Unavailable($"The {Header} cannot be claimed while the engine that joins the nodes is unreachable; nothing was delivered.");

    private static partial class Log
    {
        [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "The answer of a call with an Idempotency-Key could not be stored ({Reason})")]
        public static partial void StoreFailed(ILogger logger, string reason);
    }
}
