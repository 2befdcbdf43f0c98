using System.Globalization;
using System.Text.Json;

namespace Gateway.Routing;

/// <summary>
/// The Lambda-proxy WebSocket event, field for field and format for format as Amazon API Gateway sends it:
/// epoch-millisecond <c>connectedAt</c> and <c>requestTimeEpoch</c>, Common Log Format <c>requestTime</c>,
/// <c>headers</c> and query parameters on <c>$connect</c>, close code and reason on <c>$disconnect</c>, and the
/// body as text (base64 for a binary frame). Written forward with <see cref="Utf8JsonWriter"/>; no object model.
/// </summary>
/// <remarks>
/// Callers write it with <see cref="Protocol.FrameJson.WriterOptions"/>, only the escapes JSON requires, as Amazon writes
/// its events: the client's body reaches the backend (and its logs) as the client sent it, <c>&lt;</c>, <c>&amp;</c> and
/// emoji included, rather than as <c>\u003C</c>. The event is JSON for a JSON parser; a backend that puts any of it into
/// HTML escapes it there, as it must for Amazon's events.
/// </remarks>
public static class WebSocketEvent
{
    /// <summary>Writes the event for <paramref name="context"/> at <paramref name="now"/>.</summary>
    public static void Write(Utf8JsonWriter writer, GatewayRouteContext context, GatewayIdentity endpoint, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(endpoint);
        writer.WriteStartObject();
        WriteMembers(writer, context, endpoint, now);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes the event Amazon API Gateway sends a REQUEST authorizer of <c>$connect</c>: <c>type</c>,
    /// <c>methodArn</c>, the handshake's headers and query, <c>stageVariables</c> and the request context.
    /// </summary>
    public static void WriteAuthorizerRequest(Utf8JsonWriter writer, GatewayRouteContext context, GatewayIdentity endpoint, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(endpoint);
        writer.WriteStartObject();
        writer.WriteString("type", "REQUEST");
        writer.WriteString("methodArn", $"arn:aws:execute-api:local:000000000000:{endpoint.ApiId}/{endpoint.Stage}/{context.RouteKey}");
        writer.WriteStartObject("stageVariables");
        writer.WriteEndObject();
        WriteMembers(writer, context, endpoint, now);
        writer.WriteEndObject();
    }

    private static void WriteMembers(Utf8JsonWriter writer, GatewayRouteContext context, GatewayIdentity endpoint, DateTimeOffset now)
    {
        var connection = context.Connection;
        switch (context.EventType)
        {
            case RouteEventType.Connect:
                WriteHandshake(writer, connection.Handshake);
                break;
            case RouteEventType.Disconnect:
                // What Amazon sends on $disconnect: the host, and three headers it leaves empty.
                WriteHeaders(writer, [("Host", endpoint.DomainName), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")]);
                break;
        }

        writer.WriteStartObject("requestContext");
        writer.WriteString("routeKey", context.RouteKey);
        if (context.EventType == RouteEventType.Message)
        {
            writer.WriteString("messageId", context.MessageId);
        }

        if (context.EventType == RouteEventType.Disconnect)
        {
            writer.WriteNumber("disconnectStatusCode", context.DisconnectStatusCode ?? 1006);
        }

        writer.WriteString("eventType", context.EventType switch
        {
            RouteEventType.Connect => "CONNECT",
            RouteEventType.Disconnect => "DISCONNECT",
            _ => "MESSAGE",
        });
        writer.WriteString("extendedRequestId", context.RequestId);
        writer.WriteString("requestTime", now.UtcDateTime.ToString("dd/MMM/yyyy:HH:mm:ss '+0000'", CultureInfo.InvariantCulture));
        writer.WriteString("messageDirection", "IN");
        if (context.EventType == RouteEventType.Disconnect)
        {
            writer.WriteString("disconnectReason", context.DisconnectReason ?? "");
        }

        writer.WriteString("stage", endpoint.Stage);
        if (context.EventType == RouteEventType.Connect && connection.Handshake.Protocol != "HTTP/1.1")
        {
            // Beyond Amazon's WebSocket event, which is only ever HTTP/1.1 (its REST events have the field): an HTTP/2
            // stream says so. An HTTP/1.1 handshake's event keeps Amazon's fields exactly.
            writer.WriteString("protocol", connection.Handshake.Protocol);
        }

        writer.WriteNumber("connectedAt", connection.ConnectedAt.ToUnixTimeMilliseconds());
        writer.WriteNumber("requestTimeEpoch", now.ToUnixTimeMilliseconds());
        writer.WriteStartObject("identity");
        if (connection.UserAgent is { } userAgent)
        {
            writer.WriteString("userAgent", userAgent);
        }
        else
        {
            writer.WriteNull("userAgent");
        }

        writer.WriteString("sourceIp", connection.SourceIp);
        writer.WriteEndObject();
        if (connection.Identity?.AuthorizerJson is { } authorizer)
        {
            // What the client authenticated as: a Lambda authorizer's principalId and context, or a JWT's claims.
            writer.WritePropertyName("authorizer");
            writer.WriteRawValue(authorizer.Span, skipInputValidation: true);
        }

        writer.WriteString("requestId", context.RequestId);
        writer.WriteString("domainName", endpoint.DomainName);
        writer.WriteString("connectionId", connection.Id);
        writer.WriteString("apiId", endpoint.ApiId);
        var attributes = connection.AttributesSnapshot();
        if (attributes.Count > 0)
        {
            // Beyond Amazon's event: data a handler or backend attached to the connection earlier.
            writer.WriteStartObject("attributes");
            foreach (var (key, value) in attributes)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();

        if (context.EventType == RouteEventType.Message)
        {
            if (context.IsBinary)
            {
                writer.WriteBase64String("body", context.Body.Span);
            }
            else
            {
                writer.WriteString("body", context.Body.Span);
            }
        }

        writer.WriteBoolean("isBase64Encoded", context.IsBinary);
    }

    private static void WriteHandshake(Utf8JsonWriter writer, Connections.HandshakeInfo handshake)
    {
        WriteParameters(writer, "headers", "multiValueHeaders", handshake.Headers);
        if (handshake.Query.Count > 0)
        {
            WriteParameters(writer, "queryStringParameters", "multiValueQueryStringParameters", handshake.Query);
        }
    }

    private static void WriteHeaders(Utf8JsonWriter writer, (string Name, string Value)[] headers) =>
        WriteParameters(writer, "headers", "multiValueHeaders", headers.Select(h => new KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>(h.Name, h.Value)));

    /// <summary>A parameter sent more than once: its last value in the single-value object, every value in the multi-value one.</summary>
    private static void WriteParameters(Utf8JsonWriter writer, string single, string multi, IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> parameters)
    {
        writer.WriteStartObject(single);
        foreach (var (name, values) in parameters)
        {
            writer.WriteString(name, values.Count > 0 ? values[^1] : "");
        }

        writer.WriteEndObject();
        writer.WriteStartObject(multi);
        foreach (var (name, values) in parameters)
        {
            WriteArray(writer, name, values);
        }

        writer.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter writer, string name, Microsoft.Extensions.Primitives.StringValues values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }
}
