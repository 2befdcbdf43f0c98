using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Hosting;

/// <summary>
/// The head of a plain HTTP/1.1 WebSocket opening handshake, read at the connection level so that the
/// upgraded connection keeps no HTTP request state. It takes only the plain form (a <c>GET</c> to <c>/</c> or
/// <c>/{Stage}</c>, visible ASCII, no body, no percent-encoded path); everything else is left to the web
/// server's parser, which validates it and answers as it always does.
/// </summary>
internal sealed class HandshakeRequestHead
{
    /// <summary>The largest head this reader takes: under the web server's limits by a margin, so that it never takes what the web server would refuse.</summary>
    /// <param name="MaxLineBytes">The longest request line.</param>
    /// <param name="MaxHeaderBytes">The most bytes of header lines.</param>
    /// <param name="MaxHeaderCount">The most header lines.</param>
    internal readonly record struct HeadLimits(int MaxLineBytes, int MaxHeaderBytes, int MaxHeaderCount)
    {
        private const int Margin = 1024;

        /// <summary>The limits inside Kestrel's.</summary>
        public static HeadLimits Within(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits limits) =>
            new(Math.Max(0, limits.MaxRequestLineSize - Margin), Math.Max(0, limits.MaxRequestHeadersTotalSize - Margin), limits.MaxRequestHeaderCount);

        /// <summary>The most bytes a head this reader takes may have.</summary>
        public int MaxHeadBytes => MaxLineBytes + MaxHeaderBytes + 4;
    }

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    private HandshakeRequestHead(string target, string path, string query, string? stage, HeaderDictionary headers)
    {
        RawTarget = target;
        Path = path;
        QueryString = query;
        Stage = stage;
        Headers = headers;
    }

    /// <summary>The request target as sent (path and query).</summary>
    public string RawTarget { get; }

    /// <summary>The path: <c>/</c> or <c>/{Stage}</c>, as sent.</summary>
    public string Path { get; }

    /// <summary>The query string with its leading <c>?</c>, or empty.</summary>
    public string QueryString { get; }

    /// <summary>The stage the client connected to, or null for <c>/</c>.</summary>
    public string? Stage { get; }

    /// <summary>The request headers.</summary>
    public HeaderDictionary Headers { get; }

    /// <summary>
    /// Reads a handshake from the start of <paramref name="buffer"/>. On <see cref="HeadVerdict.Handshake"/>,
    /// <paramref name="length"/> is the number of bytes of the head (through the empty line).
    /// </summary>
    public static HeadVerdict TryRead(in ReadOnlySequence<byte> buffer, string stage, HeadLimits limits, out HandshakeRequestHead? head, out int length)
    {
        head = null;
        length = 0;
        if (buffer.IsSingleSegment)
        {
            return TryReadSpan(buffer.FirstSpan, stage, limits, out head, out length);
        }

        // Rare (a head split across pipe segments): read it from one contiguous copy.
        var size = (int)Math.Min(buffer.Length, limits.MaxHeadBytes + 1L);
        var copy = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            buffer.Slice(0, size).CopyTo(copy);
            return TryReadSpan(copy.AsSpan(0, size), stage, limits, out head, out length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static HeadVerdict TryReadSpan(ReadOnlySpan<byte> bytes, string stage, HeadLimits limits, out HandshakeRequestHead? head, out int length)
    {
        head = null;
        length = 0;
        var prefix = "GET /"u8;
        if (!prefix.StartsWith(bytes[..Math.Min(bytes.Length, prefix.Length)]))
        {
            return HeadVerdict.NotOurs;
        }

        // A head near or over one of the web server's limits is the web server's to refuse (414, 431), exactly as it always does.
        var lineEnd = bytes.IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return bytes.Length > limits.MaxLineBytes ? HeadVerdict.NotOurs : HeadVerdict.Incomplete;
        }

        if (lineEnd > limits.MaxLineBytes)
        {
            return HeadVerdict.NotOurs;
        }

        if (!TryReadRequestLine(bytes[..lineEnd], stage, out var target, out var path, out var query, out var matchedStage))
        {
            return HeadVerdict.NotOurs;
        }

        var end = bytes.IndexOf(HeadEnd);
        if (end < 0)
        {
            return bytes.Length - lineEnd > limits.MaxHeaderBytes ? HeadVerdict.NotOurs : HeadVerdict.Incomplete;
        }

        var lines = bytes[(lineEnd + 2)..(end + 2)];
        if (lines.Length > limits.MaxHeaderBytes || lines.Count("\r\n"u8) > limits.MaxHeaderCount)
        {
            return HeadVerdict.NotOurs;
        }

        var headers = new HeaderDictionary();
        while (lines.Length > 0)
        {
            var next = lines.IndexOf("\r\n"u8);
            if (!TryReadHeader(lines[..next], headers))
            {
                return HeadVerdict.NotOurs;
            }

            lines = lines[(next + 2)..];
        }

        // The web server answers a request with a body, without a Host, or without an upgrade (426 from the gateway).
        if (headers.ContainsKey("Content-Length") || headers.ContainsKey("Transfer-Encoding") || headers["Host"].Count != 1 || !IsPlainHost(headers["Host"].ToString())
            || !ClientLifecycle.HasToken(headers["Connection"], "upgrade") || !ClientLifecycle.HasToken(headers["Upgrade"], "websocket"))
        {
            return HeadVerdict.NotOurs;
        }

        head = new HandshakeRequestHead(target, path, query, matchedStage, headers);
        length = end + HeadEnd.Length;
        return HeadVerdict.Handshake;
    }

    private static bool TryReadRequestLine(ReadOnlySpan<byte> line, string stage, out string target, out string path, out string query, out string? matchedStage)
    {
        target = path = query = "";
        matchedStage = null;
        var version = " HTTP/1.1"u8;
        if (!line.EndsWith(version))
        {
            return false;
        }

        var raw = line["GET ".Length..^version.Length];
        foreach (var b in raw)
        {
            // Visible ASCII only; '%' in the path (an encoded segment) is left to the web server's decoding.
            if (b is <= 0x20 or >= 0x7F)
            {
                return false;
            }
        }

        var questionMark = raw.IndexOf((byte)'?');
        var pathBytes = questionMark < 0 ? raw : raw[..questionMark];
        if (pathBytes.Contains((byte)'%') || pathBytes.Contains((byte)'#') || raw.Contains((byte)'#'))
        {
            return false;
        }

        var pathText = pathBytes.SequenceEqual("/"u8) ? "/" : Encoding.ASCII.GetString(pathBytes);
        var segment = pathText.AsSpan(1).TrimEnd('/');
        if (segment.Length == 0 && pathText == "/")
        {
            matchedStage = null;
        }
        else if (segment.Equals(stage, StringComparison.OrdinalIgnoreCase) && pathText.Length - 1 - segment.Length <= 1)
        {
            matchedStage = stage;
        }
        else
        {
            return false;
        }

        target = questionMark < 0 ? pathText : Encoding.ASCII.GetString(raw);
        path = pathText;
        query = questionMark < 0 ? "" : target[questionMark..];
        return true;
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> line, HeaderDictionary headers)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }

        var name = line[..colon];
        foreach (var b in name)
        {
            if (!IsTokenChar(b))
            {
                return false;
            }
        }

        var value = line[(colon + 1)..];
        foreach (var b in value)
        {
            if (b is (< 0x20 and not 0x09) or >= 0x7F)
            {
                return false;
            }
        }

        value = value.Trim(" \t"u8);
        var known = KnownHeader(name);
        var key = known >= 0 ? KnownNames[known].Name : Encoding.ASCII.GetString(name);
        var text = known >= 0 && KnownNames[known].SameForMost ? SharedValue(known, value) : Encoding.ASCII.GetString(value);
        headers[key] = headers.TryGetValue(key, out var existing) ? Microsoft.Extensions.Primitives.StringValues.Concat(existing, text) : text;
        return true;
    }

    // The request headers Kestrel knows take the spelling Kestrel gives them (whatever case the client sent), so that
    // handlers and backends see the same names whichever way the handshake was served; other names keep the client's.
    // Values most clients share (Host, Upgrade, the version, the user agent...) share one string between connections:
    // an idle connection keeps its handshake's headers, so each string saved here is saved per connection.
    private static readonly (string Name, bool SameForMost)[] KnownNames =
    [
        ("Accept", true), ("Accept-Charset", true), ("Accept-Encoding", true), ("Accept-Language", true),
        ("Access-Control-Request-Headers", false), ("Access-Control-Request-Method", false), ("Allow", false),
        ("Authorization", false), ("Cache-Control", true), ("Connection", true), ("Content-Encoding", false),
        ("Content-Language", false), ("Content-Location", false), ("Content-MD5", false), ("Content-Range", false),
        ("Content-Type", false), ("Cookie", false), ("Correlation-Context", false), ("DNT", true), ("Date", false),
        ("Expect", false), ("Expires", false), ("From", false), ("Grpc-Accept-Encoding", false),
        ("Grpc-Encoding", false), ("Grpc-Timeout", false), ("Host", true), ("If-Match", false),
        ("If-Modified-Since", false), ("If-None-Match", false), ("If-Range", false), ("If-Unmodified-Since", false),
        ("Keep-Alive", false), ("Last-Modified", false), ("Max-Forwards", false), ("Origin", true), ("Pragma", true),
        ("Proxy-Authorization", false), ("Range", false), ("Referer", false), ("Request-Id", false),
        ("Sec-WebSocket-Extensions", true), ("Sec-WebSocket-Key", false), ("Sec-WebSocket-Protocol", false),
        ("Sec-WebSocket-Version", true), ("TE", false), ("Trailer", false), ("Translate", false), ("Upgrade", true),
        ("Upgrade-Insecure-Requests", true), ("User-Agent", true), ("Via", true), ("Warning", false),
        ("baggage", false), ("traceparent", false), ("tracestate", false),
    ];

    private static readonly string?[] LastValues = new string?[KnownNames.Length];

    private static int KnownHeader(ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < KnownNames.Length; i++)
        {
            var known = KnownNames[i].Name;
            if (known.Length == name.Length && System.Text.Ascii.EqualsIgnoreCase(name, known))
            {
                return i;
            }
        }

        return -1;
    }

    private static string SharedValue(int known, ReadOnlySpan<byte> value)
    {
        // One slot per header: the value last seen. A race only costs a string.
        var last = Volatile.Read(ref LastValues[known]);
        if (last is not null && System.Text.Ascii.Equals(value, last))
        {
            return last;
        }

        var text = Encoding.ASCII.GetString(value);
        Volatile.Write(ref LastValues[known], text);
        return text;
    }

    /// <summary>
    /// A host the plain way: a name or IPv4 address of letters, digits, '-', '.', '_' and '~', or an IPv6 address in
    /// brackets, then an optional port. Anything else (empty, encoded, user info, odd characters) is Kestrel's to judge.
    /// </summary>
    private static readonly System.Buffers.SearchValues<char> Ipv6Chars = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF:.");
    private static readonly System.Buffers.SearchValues<char> HostNameChars = System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~");

    private static bool IsPlainHost(string host)
    {
        var rest = host.AsSpan();
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']');
            if (close < 3 || rest[1..close].ContainsAnyExcept(Ipv6Chars))
            {
                return false;
            }

            rest = rest[(close + 1)..];
        }
        else
        {
            var end = rest.IndexOf(':');
            var name = end < 0 ? rest : rest[..end];
            if (name.IsEmpty || name.ContainsAnyExcept(HostNameChars))
            {
                return false;
            }

            rest = end < 0 ? default : rest[end..];
        }

        // Nothing more, or ":" and one to five digits.
        return rest.IsEmpty || (rest.Length is >= 2 and <= 6 && rest[0] == ':' && !rest[1..].ContainsAnyExceptInRange('0', '9'));
    }

    private static bool IsTokenChar(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'.'
            or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
