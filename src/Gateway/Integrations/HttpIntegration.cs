using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Unicode;
using Gateway.Configuration;
using Gateway.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Integrations;

/// <summary>
/// The <c>http</c> integration: each event of the route is posted to a backend (the Lambda-proxy event, or the raw
/// body), through pooled connections, within a timeout. On <c>$connect</c> a non-2xx answer rejects the handshake with
/// that status and an unreachable backend with 502; on a two-way route a 2xx body goes back to the caller; any
/// failure of a message becomes the caller's "Internal server error" frame.
/// </summary>
public sealed partial class HttpIntegration(
    string routeKey,
    IntegrationOptions options,
    IHttpClientFactory clients,
    IntegrationEndpoint endpoint,
    TimeProvider time,
    ILogger<HttpIntegration> logger) : IRouteHandler
{
    /// <summary>The name of the pooled client all integrations share.</summary>
    public const string ClientName = "Gateway.Integrations";

    private const int MaxAnswerBytes = 16 * 1024 * 1024;
    private readonly Uri _uri = new(options.Uri!);

    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(RouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        IntegrationAnswer answer;
        try
        {
            answer = await CallAsync(context);
        }
        catch (IntegrationFailedException ex) when (context.EventType == RouteEventType.Connect)
        {
            // A backend that crashed or cannot be reached answers the handshake 502, as Amazon does.
            Log.ConnectFailed(logger, ex, routeKey, context.ConnectionId);
            return RouteResult.Reject(502);
        }

        if (context.EventType == RouteEventType.Connect)
        {
            return answer.IsSuccess ? RouteResult.Accept(answer.SubProtocol) : RouteResult.Reject(answer.StatusCode);
        }

        if (!answer.IsSuccess)
        {
            throw new IntegrationFailedException($"the backend of route {routeKey} answered {answer.StatusCode}");
        }

        if (options.ReturnResponse && context.EventType == RouteEventType.Message && answer.Body.Length > 0)
        {
            return Utf8.IsValid(answer.Body) ? RouteResult.Reply(answer.Body) : RouteResult.ReplyBinary(answer.Body);
        }

        return RouteResult.Ok;
    }

    private async Task<IntegrationAnswer> CallAsync(RouteContext context)
    {
        var client = clients.CreateClient(ClientName);
        var attempts = 1 + Math.Max(0, options.Retries);
        for (var attempt = 1; ; attempt++)
        {
            // Only the timeout cancels: a message the client sent just before closing still reaches the backend.
            using var timeout = new CancellationTokenSource(options.Timeout, time);
            try
            {
                using var request = BuildRequest(context);
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                var body = await ReadAsync(response.Content, timeout.Token);
                var answer = IntegrationAnswer.From((int)response.StatusCode, response.Headers, response.Content.Headers, body);
                if (answer.StatusCode < 500 || attempt >= attempts)
                {
                    return answer;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                if (attempt >= attempts)
                {
                    var why = timeout.IsCancellationRequested ? $"timed out after {options.Timeout}" : ex.Message;
                    throw new IntegrationFailedException($"the backend of route {routeKey} at {_uri} failed: {why}", ex);
                }
            }

            Log.Retrying(logger, routeKey, attempt, attempts);
        }
    }

    private HttpRequestMessage BuildRequest(RouteContext context)
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
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WebSocketEvent.Write(writer, context, endpoint, time.GetUtcNow());
        }

        request.Content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    private static async Task<byte[]> ReadAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxAnswerBytes)
        {
            throw new IntegrationFailedException($"the backend's answer of {content.Headers.ContentLength} bytes is over {MaxAnswerBytes}");
        }

        return await content.ReadAsByteArrayAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Route {RouteKey}: the backend failed on the handshake of {ConnectionId}; answered 502")]
        public static partial void ConnectFailed(ILogger logger, Exception exception, string routeKey, string connectionId);

        [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Route {RouteKey}: attempt {Attempt} of {Attempts} failed; trying again")]
        public static partial void Retrying(ILogger logger, string routeKey, int attempt, int attempts);
    }
}
