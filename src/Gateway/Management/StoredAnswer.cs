using System.Buffers.Binary;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// A management answer as an idempotency key keeps it: status, content type, <c>x-amzn-ErrorType</c> and body. Its
/// bytes: a marker (1; a claim still pending is the single byte 0), the status (little-endian), the content type and
/// the error type (each UTF-8 after a 2-byte length), then the body.
/// </summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="ContentType">The content type, empty when none.</param>
/// <param name="ErrorType">The error type, empty when none.</param>
/// <param name="Body">The body.</param>
internal sealed record StoredAnswer(int Status, string ContentType, string ErrorType, byte[] Body) : IResult
{
    /// <summary>The value of a claimed key whose first call has not answered yet.</summary>
    public static readonly byte[] Pending = [0];

    /// <summary>The header a repeat's answer carries.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>True on an answer read back for a repeat.</summary>
    public bool Replayed { get; init; }

    /// <summary>Runs <paramref name="result"/> into a buffer and keeps what it wrote.</summary>
    public static async Task<StoredAnswer> CaptureAsync(IResult result, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(context);
        var capture = new DefaultHttpContext { RequestServices = context.RequestServices };
        using var body = new MemoryStream();
        capture.Response.Body = body;
        await result.ExecuteAsync(capture);
        return new StoredAnswer(capture.Response.StatusCode, capture.Response.ContentType ?? "", capture.Response.Headers["x-amzn-ErrorType"].ToString(), body.ToArray());
    }

    /// <summary>The answer's bytes.</summary>
    public byte[] ToBytes()
    {
        var contentType = Encoding.UTF8.GetBytes(ContentType);
        var errorType = Encoding.UTF8.GetBytes(ErrorType);
        var bytes = new byte[1 + 4 + 2 + contentType.Length + 2 + errorType.Length + Body.Length];
        var span = bytes.AsSpan();
        span[0] = 1;
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], Status);
        BinaryPrimitives.WriteUInt16LittleEndian(span[5..], (ushort)contentType.Length);
        contentType.CopyTo(span[7..]);
        var at = 7 + contentType.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)errorType.Length);
        errorType.CopyTo(span[(at + 2)..]);
        Body.CopyTo(span[(at + 2 + errorType.Length)..]);
        return bytes;
    }

    /// <summary>Reads an answer; null for a pending claim or bytes that are not one.</summary>
    public static StoredAnswer? FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 9 || bytes[0] != 1)
        {
            return null;
        }

        var span = bytes.AsSpan();
        var status = BinaryPrimitives.ReadInt32LittleEndian(span[1..]);
        int contentLength = BinaryPrimitives.ReadUInt16LittleEndian(span[5..]);
        if (7 + contentLength + 2 > bytes.Length)
        {
            return null;
        }

        var contentType = Encoding.UTF8.GetString(span.Slice(7, contentLength));
        var at = 7 + contentLength;
        int errorLength = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
        if (at + 2 + errorLength > bytes.Length)
        {
            return null;
        }

        var errorType = Encoding.UTF8.GetString(span.Slice(at + 2, errorLength));
        return new StoredAnswer(status, contentType, errorType, span[(at + 2 + errorLength)..].ToArray());
    }

    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = Status;
        if (ContentType.Length > 0)
        {
            httpContext.Response.ContentType = ContentType;
        }

        if (ErrorType.Length > 0)
        {
            httpContext.Response.Headers["x-amzn-ErrorType"] = ErrorType;
        }

        if (Replayed)
        {
            httpContext.Response.Headers[ReplayedHeader] = "true";
        }

        if (Body.Length > 0)
        {
            await httpContext.Response.Body.WriteAsync(Body, httpContext.RequestAborted);
        }
    }
}
