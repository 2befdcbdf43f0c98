using System.Text.Unicode;
using Gateway.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Management;

/// <summary>
/// The body of a management or dashboard call, read whole within its limit by the access filter before the
/// credentials are checked (a signature covers it), and handed to the endpoint as a request feature.
/// </summary>
/// <param name="bytes">The body.</param>
internal sealed class ManagementBody(byte[] bytes)
{
    /// <summary>The body as it was sent.</summary>
    public byte[] Bytes => bytes;

    /// <summary>The body the access filter read for this request.</summary>
    public static byte[] Of(HttpContext context) => context.Features.GetRequiredFeature<ManagementBody>().Bytes;

    /// <summary>A pushed body as a message: bytes that are valid UTF-8 go out as a text frame, anything else as binary.</summary>
    public static OutboundMessage Message(byte[] body) => Utf8.IsValid(body) ? OutboundMessage.Text(body) : OutboundMessage.Binary(body);

    /// <summary>
    /// Reads the body whole; null when it is over <paramref name="max"/> bytes. A value task: a body that has already
    /// arrived (a push, usually) is read without allocating a task for it.
    /// </summary>
    public static async ValueTask<byte[]?> ReadAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        if (request.ContentLength is long declared)
        {
            if (declared > max)
            {
                return null;
            }

            var exact = new byte[declared];
            await request.Body.ReadExactlyAsync(exact, cancellationToken);
            return exact;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
