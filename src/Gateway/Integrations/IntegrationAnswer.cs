using System.Net.Http.Headers;
using System.Text.Json;

namespace Gateway.Integrations;

/// <summary>
/// A backend's answer, read either as a plain HTTP response or as a Lambda-proxy result object
/// (<c>{"statusCode", "headers", "body", "isBase64Encoded"}</c>), which is what a handler written for AWS Lambda returns.
/// </summary>
/// <param name="StatusCode">The status: the HTTP one, or the result object's <c>statusCode</c>.</param>
/// <param name="Body">The body (decoded from base64 when the result object says so).</param>
/// <param name="SubProtocol">A <c>Sec-WebSocket-Protocol</c> header in the answer, for <c>$connect</c>.</param>
public sealed record IntegrationAnswer(int StatusCode, byte[] Body, string? SubProtocol)
{
    private static readonly HashSet<string> ResultFields = new(StringComparer.Ordinal) { "statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies" };

    /// <summary>True for a 2xx status.</summary>
    public bool IsSuccess => StatusCode is >= 200 and <= 299;

    /// <summary>Reads an HTTP response already received whole.</summary>
    public static IntegrationAnswer From(int httpStatus, HttpResponseHeaders headers, HttpContentHeaders contentHeaders, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(contentHeaders);
        ArgumentNullException.ThrowIfNull(body);
        // A result object is what a Lambda-style handler returns in a successful answer; a failing answer's status stands.
        if (httpStatus is >= 200 and <= 299 && TryReadResultObject(body, out var result))
        {
            return result;
        }

        var protocol = headers.TryGetValues("Sec-WebSocket-Protocol", out var values) ? values.FirstOrDefault() : null;
        return new IntegrationAnswer(httpStatus, body, protocol);
    }

    /// <summary>
    /// A JSON object whose fields are only those of a Lambda-proxy result, with a numeric <c>statusCode</c>, is one;
    /// anything else (a reply that merely is JSON) is a plain body.
    /// </summary>
    private static bool TryReadResultObject(byte[] body, out IntegrationAnswer answer)
    {
        answer = null!;
        var start = body.AsSpan().IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0 || body[start] != (byte)'{')
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("statusCode", out var status) || status.ValueKind != JsonValueKind.Number
                || root.EnumerateObject().Any(p => !ResultFields.Contains(p.Name)))
            {
                return false;
            }

            var base64 = root.TryGetProperty("isBase64Encoded", out var b) && b.ValueKind == JsonValueKind.True;
            var text = root.TryGetProperty("body", out var bodyElement) && bodyElement.ValueKind == JsonValueKind.String ? bodyElement.GetString()! : "";
            var bytes = base64 ? Convert.FromBase64String(text) : System.Text.Encoding.UTF8.GetBytes(text);
            string? protocol = null;
            if (root.TryGetProperty("headers", out var headers) && headers.ValueKind == JsonValueKind.Object)
            {
                foreach (var header in headers.EnumerateObject())
                {
                    if (header.Name.Equals("Sec-WebSocket-Protocol", StringComparison.OrdinalIgnoreCase) && header.Value.ValueKind == JsonValueKind.String)
                    {
                        protocol = header.Value.GetString();
                    }
                }
            }

            answer = new IntegrationAnswer(status.GetInt32(), bytes, protocol);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return false;
        }
    }
}
