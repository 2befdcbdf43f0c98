using System.Globalization;
using System.Text;
using Gateway.Configuration;
using Microsoft.Extensions.Primitives;

namespace Gateway.Connections;

/// <summary>
/// permessage-deflate (RFC 7692) as negotiated for one connection: the parameters answered in the 101, and what the
/// socket compresses. Offers are read from <c>Sec-WebSocket-Extensions</c> in order and the first one the gateway can
/// accept is taken; an offer that is malformed, names a parameter twice or one RFC 7692 does not define, or a window
/// out of range is declined (the socket then goes uncompressed), never refused.
/// </summary>
internal sealed class PerMessageDeflate
{
    private const string Name = "permessage-deflate";

    private PerMessageDeflate(bool serverNoContextTakeover, bool clientNoContextTakeover, int serverWindowBits, int? clientWindowBits, int minMessageBytes)
    {
        ServerNoContextTakeover = serverNoContextTakeover;
        ClientNoContextTakeover = clientNoContextTakeover;
        ServerWindowBits = serverWindowBits;
        ClientWindowBits = clientWindowBits;
        MinMessageBytes = minMessageBytes;
    }

    /// <summary>Each message the gateway sends is compressed on its own (so compressors are pooled and fan-outs share one frame).</summary>
    public bool ServerNoContextTakeover { get; }

    /// <summary>Each message the client sends is compressed on its own (so decompressors are pooled).</summary>
    public bool ClientNoContextTakeover { get; }

    /// <summary>The window the gateway compresses with (bits).</summary>
    public int ServerWindowBits { get; }

    /// <summary>The window the client was told to stay within, or null when it was told nothing (15).</summary>
    public int? ClientWindowBits { get; }

    /// <summary>Messages of fewer bytes go uncompressed.</summary>
    public int MinMessageBytes { get; }

    /// <summary>Counts each message compressed (a frame shared by many sockets counts once), with its sizes before and after.</summary>
    public Action<int, int>? Compressed { get; private init; }

    /// <summary>The same parameters, counting each message compressed with <paramref name="counter"/>.</summary>
    public PerMessageDeflate WithCounter(Action<int, int> counter) =>
        new(ServerNoContextTakeover, ClientNoContextTakeover, ServerWindowBits, ClientWindowBits, MinMessageBytes) { Compressed = counter };

    /// <summary>What compressed frames may be shared between sockets by: those of sockets that compress alike.</summary>
    public int SharingKey => ServerWindowBits;

    /// <summary>The <c>Sec-WebSocket-Extensions</c> value of the 101.</summary>
    public string Response
    {
        get
        {
            var response = new StringBuilder(Name);
            if (ServerNoContextTakeover)
            {
                response.Append("; server_no_context_takeover");
            }

            if (ClientNoContextTakeover)
            {
                response.Append("; client_no_context_takeover");
            }

            if (ServerWindowBits < 15)
            {
                response.Append(CultureInfo.InvariantCulture, $"; server_max_window_bits={ServerWindowBits}");
            }

            if (ClientWindowBits is { } client)
            {
                response.Append(CultureInfo.InvariantCulture, $"; client_max_window_bits={client}");
            }

            return response.ToString();
        }
    }

    /// <summary>The first offer in <paramref name="offers"/> the options accept, or null (compression off, no offer, none acceptable).</summary>
    public static PerMessageDeflate? Negotiate(StringValues offers, CompressionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode != WebSocketCompression.On)
        {
            return null;
        }

        foreach (var header in offers)
        {
            if (string.IsNullOrEmpty(header))
            {
                continue;
            }

            foreach (var offer in SplitOutsideQuotes(header, ','))
            {
                if (Accept(offer, options) is { } accepted)
                {
                    return accepted;
                }
            }
        }

        return null;
    }

    private static PerMessageDeflate? Accept(string offer, CompressionOptions options)
    {
        var parts = SplitOutsideQuotes(offer, ';');
        if (parts.Count == 0 || !parts[0].Trim().Equals(Name, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        bool serverNoTakeover = false, clientNoTakeover = false, clientBitsOffered = false;
        int? serverBits = null, clientBits = null;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in parts.Skip(1))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? part : part[..equals]).Trim();
            string? value = equals < 0 ? null : Unquote(part[(equals + 1)..].Trim());
            if (name.Length == 0 || !seen.Add(name) || (equals >= 0 && value is null))
            {
                return null; // an empty parameter, a repeated one, or a value that is not a token or quoted string
            }

            switch (name.ToLowerInvariant())
            {
                case "server_no_context_takeover" when value is null:
                    serverNoTakeover = true;
                    break;
                case "client_no_context_takeover" when value is null:
                    clientNoTakeover = true;
                    break;
                case "server_max_window_bits" when WindowBits(value) is { } bits:
                    serverBits = bits;
                    break;
                case "client_max_window_bits" when value is null:
                    clientBitsOffered = true;
                    break;
                case "client_max_window_bits" when WindowBits(value) is { } bits:
                    clientBitsOffered = true;
                    clientBits = bits;
                    break;
                default:
                    return null; // unknown, or a value where none belongs, or a window out of range
            }
        }

        // The gateway's window: the option, or less when the client asks for less. zlib has no 8-bit raw window, so
        // an offer that insists on 8 is declined (RFC 7692 §7.1.2.1 lets a server decline it).
        var serverWindow = Math.Min(serverBits ?? 15, options.ServerMaxWindowBits);
        if (serverWindow < 9)
        {
            return null;
        }

        // The client's window: its own limit and the option's; a client that did not say it can limit its window
        // uses 15, so an option below that declines its offer.
        int? clientWindow = null;
        if (clientBitsOffered)
        {
            var limit = Math.Min(clientBits ?? 15, options.ClientMaxWindowBits);
            clientWindow = limit < 15 || clientBits is not null ? limit : null;
        }
        else if (options.ClientMaxWindowBits < 15)
        {
            return null;
        }

        return new PerMessageDeflate(
            serverNoTakeover || options.ServerNoContextTakeover,
            clientNoTakeover || options.ClientNoContextTakeover,
            serverWindow,
            clientWindow,
            options.MinMessageBytes);
    }

    private static int? WindowBits(string? value) =>
        value is { Length: 1 or 2 } && value.All(char.IsAsciiDigit) && int.Parse(value, CultureInfo.InvariantCulture) is var bits and >= 8 and <= 15 ? bits : null;

    // A parameter value: a token, or a quoted string (RFC 7692 §7.1: the value must then still be a token); null when neither.
    private static string? Unquote(string value)
    {
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            value = value[1..^1];
        }

        return value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)) ? value : null;
    }

    private static List<string> SplitOutsideQuotes(string text, char separator)
    {
        var parts = new List<string>();
        var start = 0;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '"')
            {
                quoted = !quoted;
            }
            else if (text[i] == separator && !quoted)
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }

        parts.Add(text[start..]);
        return parts.Where(p => p.Trim().Length > 0 || separator == ';').ToList();
    }
}
