using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Gateway.Hosting;

/// <summary>The HTTP/1.1 head of a handshake's answer: status line and headers, and for an answer with a body its length and <c>Connection: close</c>.</summary>
internal static class HandshakeResponseHead
{
    /// <summary>Writes the head as ASCII; <paramref name="contentLength"/> is null for the 101 of an upgrade.</summary>
    public static byte[] Format(int statusCode, string? reasonPhrase, IHeaderDictionary headers, long? contentLength)
    {
        var head = new StringBuilder(256);
        head.Append("HTTP/1.1 ").Append(statusCode).Append(' ').Append(reasonPhrase ?? ReasonPhrases.GetReasonPhrase(statusCode)).Append("\r\n");
        foreach (var (name, values) in headers)
        {
            if (contentLength is not null && (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            foreach (var value in values)
            {
                // Response headers are set by this library only; a line break in one would be a defect, never sent.
                if (value is not null && !value.AsSpan().ContainsAny('\r', '\n'))
                {
                    head.Append(name).Append(": ").Append(value).Append("\r\n");
                }
            }
        }

        if (contentLength is { } length)
        {
            head.Append("Content-Length: ").Append(length).Append("\r\nConnection: close\r\n");
        }

        head.Append("\r\n");
        return Encoding.ASCII.GetBytes(head.ToString());
    }
}
