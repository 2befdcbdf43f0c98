using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Gateway.Protocol;

/// <summary>
/// A JSON encoder that escapes only what RFC 8259 requires: <c>"</c>, <c>\</c> and the control characters U+0000–U+001F.
/// Everything else, non-ASCII and characters outside the BMP included, is written as itself (raw UTF-8), so a channel
/// <c>events.org_1.&gt;</c> reads as written in <c>wscat</c>. Text that is not Unicode — a lone surrogate in a .NET string,
/// an invalid byte in UTF-8 — is replaced by U+FFFD.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/> is not this: it still escapes DEL, U+2028/U+2029, every
/// character outside the BMP (an emoji becomes <c>\uD83D\uDE00</c>) and characters Unicode leaves unassigned.
/// </para>
/// <para>
/// A lone surrogate is replaced rather than escaped as <c>\uD800</c>: RFC 8259 (§8.2) leaves what a parser does with such an
/// escape open, and some refuse it (System.Text.Json's <c>GetString</c> throws), while U+FFFD reads the same everywhere. It is
/// also all <see cref="TextEncoder"/> allows: it hands an encoder U+FFFD, never the surrogate. Such text rarely gets this
/// far: a client's text frame is valid UTF-8 (or the connection is closed with 1007), and System.Text.Json will not read
/// an escaped lone surrogate (<c>"\uD800"</c>) into a string.
/// </para>
/// <para>
/// <see cref="System.Text.Json.Utf8JsonWriter"/> relies on its encoder to find invalid UTF-16 and UTF-8: text an encoder
/// does not flag is copied as it is (invalid UTF-8 reaches the client; a string is cut short at a lone surrogate). So both
/// scans below flag them, and the encoder's own loop then writes U+FFFD.
/// </para>
/// </remarks>
public sealed class MinimalJsonEncoder : JavaScriptEncoder
{
    private const string HexDigits = "0123456789ABCDEF";

    // The ASCII characters JSON requires escaped; every other character is written as itself.
    private static readonly SearchValues<char> CharsToEscape = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\"\\");

    private static readonly SearchValues<byte> BytesToEscape = SearchValues.Create(
        [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
         0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, (byte)'"', (byte)'\\']);

    private MinimalJsonEncoder()
    {
    }

    /// <summary>The one instance (it holds no state).</summary>
    public static MinimalJsonEncoder Instance { get; } = new();

    /// <summary>Six: <c>\u001F</c> is the longest escape this encoder writes for one character.</summary>
    public override int MaxOutputCharactersPerInputCharacter => 6;

    /// <summary>True for <c>"</c>, <c>\</c>, U+0000–U+001F, and anything that is not a Unicode scalar value.</summary>
    public override bool WillEncode(int unicodeScalar) =>
        unicodeScalar is < 0x20 or '"' or '\\' || !Rune.IsValid(unicodeScalar);

    /// <summary>Writes one scalar: escaped when JSON requires it, U+FFFD when it is not a scalar value, else as itself.</summary>
    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        var destination = new Span<char>(buffer, bufferLength);
        ReadOnlySpan<char> escape = unicodeScalar switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\b' => "\\b",
            '\f' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            _ => default,
        };
        if (!escape.IsEmpty)
        {
            numberOfCharactersWritten = escape.Length;
            return escape.TryCopyTo(destination);
        }

        if (unicodeScalar is >= 0 and < 0x20)
        {
            // The other control characters have no short form: \u00XX, in the upper-case hex System.Text.Json writes.
            numberOfCharactersWritten = 6;
            if (destination.Length < 6)
            {
                return false;
            }

            "\\u00".CopyTo(destination);
            destination[4] = HexDigits[unicodeScalar >> 4];
            destination[5] = HexDigits[unicodeScalar & 0xF];
            return true;
        }

        var rune = Rune.IsValid(unicodeScalar) ? new Rune(unicodeScalar) : Rune.ReplacementChar;
        return rune.TryEncodeToUtf16(destination, out numberOfCharactersWritten);
    }

    /// <summary>The index of the first character to escape or replace (a lone surrogate), or -1.</summary>
    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength) =>
        text is null ? -1 : IndexOfFirstToEncode(new ReadOnlySpan<char>(text, textLength));

    /// <summary>The index of the first byte to escape or replace (the start of invalid UTF-8), or -1.</summary>
    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        // Both scans are vectorized; the second stops where the first found something, since only the earlier index counts.
        var escape = utf8Text.IndexOfAny(BytesToEscape);
        var before = escape < 0 ? utf8Text : utf8Text[..escape];
        return Utf8.IsValid(before) ? escape : IndexOfInvalid(before);
    }

    /// <summary>The index of the first character to escape or replace, or -1; the span form of <see cref="FindFirstCharacterToEncode"/>.</summary>
    internal static int IndexOfFirstToEncode(ReadOnlySpan<char> text)
    {
        var escape = text.IndexOfAny(CharsToEscape);
        var before = escape < 0 ? text : text[..escape];

        // Surrogates in pairs are one character outside the BMP, written as itself; a lone one is replaced.
        var from = 0;
        while (before[from..].IndexOfAnyInRange('\uD800', '\uDFFF') is var found && found >= 0)
        {
            var at = from + found;
            if (!char.IsHighSurrogate(before[at]) || at + 1 >= before.Length || !char.IsLowSurrogate(before[at + 1]))
            {
                return at;
            }

            from = at + 2;
        }

        return escape;
    }

    /// <summary>The index where <paramref name="utf8"/>, known to hold invalid UTF-8, first goes wrong.</summary>
    private static int IndexOfInvalid(ReadOnlySpan<byte> utf8)
    {
        var at = 0;
        while (Rune.DecodeFromUtf8(utf8[at..], out _, out var consumed) == OperationStatus.Done)
        {
            at += consumed;
        }

        return at;
    }
}
