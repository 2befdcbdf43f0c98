using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Integrations;

/// <summary>
/// The backend of one <c>http</c> integration route: posts an event to it (the Lambda-proxy event, or the raw body)
/// through the pooled client, retries failures before the answer's headers as configured, and reads a plain answer
/// within the call's deadline and <see cref="HttpIntegration.MaxAnswerBytes"/>.
/// </summary>
internal sealed partial class HttpBackend(
    string routeKey,
    IntegrationOptions options,
    IHttpClientFactory clients,
    GatewayIdentity endpoint,
    TimeProvider time,
    Diagnostics.GatewayMetrics metrics,
    ILogger logger)
{
    private readonly Uri _uri = new(options.Uri!);

    /// <summary>Sends the event and returns once the answer's headers are in; failures before then are retried as configured.</summary>
    public async Task<HttpResponseMessage> SendAsync(GatewayRouteContext context, CancellationTokenSource deadline)
    {
        var started = Diagnostics.GatewayMetrics.Start();
        var success = false;
        try
        {
            var response = await SendWithRetriesAsync(context, deadline);
            success = response.IsSuccessStatusCode;
            return response;
        }
        finally
        {
            metrics.Integration(routeKey, success, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Reads a plain answer whole, within the call's deadline and <see cref="HttpIntegration.MaxAnswerBytes"/>, however it is framed.</summary>
    public async Task<IntegrationAnswer> ReadAnswerAsync(HttpResponseMessage response, CancellationTokenSource deadline)
    {
        using (response)
        {
            try
            {
                if (response.Content.Headers.ContentLength > HttpIntegration.MaxAnswerBytes)
                {
                    throw new IntegrationFailedException($"the backend's answer of {response.Content.Headers.ContentLength} bytes is over {HttpIntegration.MaxAnswerBytes}");
                }

                await using var body = new LengthLimitedStream(await response.Content.ReadAsStreamAsync(deadline.Token), HttpIntegration.MaxAnswerBytes);
                using var copy = new MemoryStream();
                await body.CopyToAsync(copy, deadline.Token);
                return IntegrationAnswer.From((int)response.StatusCode, response.Headers, response.Content.Headers, copy.ToArray());
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
                var why = deadline.IsCancellationRequested ? $"timed out after {options.Timeout}" : ex.Message;
                throw new IntegrationFailedException($"reading the answer of the backend of route {routeKey} failed: {why}", ex);
            }
        }
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(GatewayRouteContext context, CancellationTokenSource deadline)
    {
        var client = clients.CreateClient(BackendHttpClient.Name);
        var attempts = 1 + Math.Max(0, options.Retries);
        for (var attempt = 1; ; attempt++)
        {
            // Only the deadline cancels: a message the client sent just before closing still reaches the backend.
            try
            {
                using var request = BuildRequest(context);
                var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                if ((int)response.StatusCode < 500 || attempt >= attempts)
                {
                    return response;
                }

                response.Dispose();
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                if (attempt >= attempts || deadline.IsCancellationRequested)
                {
                    var why = deadline.IsCancellationRequested ? $"timed out after {options.Timeout}" : ex.Message;
                    throw new IntegrationFailedException($"the backend of route {routeKey} at {_uri} failed: {why}", ex);
                }
            }

            Log.Retrying(logger, routeKey, attempt, attempts);
        }
    }

    private HttpRequestMessage BuildRequest(GatewayRouteContext context)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _uri);
        if (options.RequestFormat == IntegrationRequestFormat.Raw)
        {
            request.Content = new ByteArrayContent(context.Body.ToArray());
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(context.IsBinary ? "application/octet-stream" : "text/plain") { CharSet = context.IsBinary ? null : "utf-8" };
            request.Headers.TryAddWithoutValidation("connectionId", context.ConnectionId);
            request.Headers.TryAddWithoutValidation("routeKey", context.RouteKey);
            request.Headers.TryAddWithoutValidation("requestId", context.RequestId);
            request.Headers.TryAddWithoutValidation("eventType", context.EventType.ToString().ToUpperInvariant());
            return request;
        }

        var buffer = new ArrayBufferWriter<byte>(512 + context.Body.Length);
        using (var writer = new Utf8JsonWriter(buffer, Protocol.FrameJson.WriterOptions))
        {
            WebSocketEvent.Write(writer, context, endpoint, time.GetUtcNow());
        }

        request.Content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "{Route}: attempt {Attempt} of {Attempts} failed; trying again")]
        public static partial void Retrying(ILogger logger, string route, int attempt, int attempts);
    }
}
