using Gateway.Routing;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Topics;

/// <summary>
/// The topic policy. Client authentication off: every topic is open. On: a connection may subscribe to a pattern only
/// when a pattern granted to it covers it (the patterns in its <c>Claim</c>, and the <c>Templates</c> filled from its
/// claims) or the HTTP subscribe authorizer allows it; <c>AllowAll</c> opens everything.
/// </summary>
public sealed partial class TopicAuthorizer(IOptions<GatewayOptions> options, IHttpClientFactory clients, TimeProvider time, ILogger<TopicAuthorizer> logger)
{
    private readonly TopicsOptions _topics = options.Value.Topics;
    private readonly bool _open = options.Value.Topics.Authorization.AllowAll || !options.Value.Auth.Enabled;
    private readonly Uri? _uri = string.IsNullOrWhiteSpace(options.Value.Topics.Authorization.Uri) ? null : new Uri(options.Value.Topics.Authorization.Uri);

    /// <summary>Decides whether <paramref name="connection"/> may subscribe to <paramref name="pattern"/>.</summary>
    public async ValueTask<TopicDecision> AuthorizeAsync(GatewayConnection connection, string pattern, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(pattern);
        if (_open || Granted(connection).Any(granted => TopicName.Covers(granted, pattern)))
        {
            return TopicDecision.Allowed;
        }

        return _uri is null ? TopicDecision.Denied : await AskAsync(connection, pattern, cancellationToken);
    }

    /// <summary>
    /// The patterns granted to a connection: its claim's, and each template whose placeholders its claims fill. A
    /// claim value used in a template must be one plain segment (no dots or wildcards), or the template is skipped.
    /// </summary>
    public IEnumerable<string> Granted(GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.Identity is not { } identity)
        {
            yield break;
        }

        var max = _topics.MaxTopicLength;
        foreach (var claim in identity.Principal.FindAll(_topics.Authorization.Claim))
        {
            foreach (var value in claim.Value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries))
            {
                if (TopicName.IsValidPattern(value, max))
                {
                    yield return value;
                }
            }
        }

        foreach (var template in _topics.Authorization.Templates)
        {
            if (Fill(template, identity) is { } filled && TopicName.IsValidPattern(filled, max))
            {
                yield return filled;
            }
        }
    }

    private static string? Fill(string template, ConnectionIdentity identity) =>
        TopicTemplate.Fill(template, name => name is "sub" or "userId" ? identity.UserId ?? identity.Principal.FindFirst(name)?.Value : identity.Principal.FindFirst(name)?.Value);

    private async ValueTask<TopicDecision> AskAsync(GatewayConnection connection, string pattern, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_topics.Authorization.Timeout, time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var buffer = new MemoryStream();
            // Written as the integration events are (see WebSocketEvent): only the escapes JSON requires.
            await using (var writer = new Utf8JsonWriter(buffer, Protocol.FrameJson.WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteString("connectionId", connection.Id);
                writer.WriteString("userId", connection.UserId);
                writer.WriteString("channel", pattern);
                if (connection.Identity?.AuthorizerJson is { } authorizer)
                {
                    writer.WritePropertyName("authorizer");
                    writer.WriteRawValue(authorizer.Span, skipInputValidation: true);
                }

                writer.WriteEndObject();
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = new ByteArrayContent(buffer.GetBuffer(), 0, (int)buffer.Length) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await clients.CreateClient(BackendHttpClient.Name).SendAsync(request, deadline.Token);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return TopicDecision.Denied;
            }

            if (!response.IsSuccessStatusCode)
            {
                Log.Failed(logger, connection.Id, pattern, $"it answered {(int)response.StatusCode}");
                return TopicDecision.Failed;
            }

            using var answer = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(deadline.Token));
            return answer.RootElement.ValueKind == JsonValueKind.Object && answer.RootElement.TryGetProperty("allowed", out var allowed) && allowed.ValueKind == JsonValueKind.True
                ? TopicDecision.Allowed
                : TopicDecision.Denied;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException)
        {
            Log.Failed(logger, connection.Id, pattern, ex is OperationCanceledException ? "timed out" : ex.GetType().Name);
            return TopicDecision.Failed;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1701, Level = LogLevel.Error, Message = "Connection {ConnectionId}: the subscribe authorizer failed for {Channel} ({Detail})")]
        public static partial void Failed(ILogger logger, string connectionId, string channel, string detail);
    }
}
