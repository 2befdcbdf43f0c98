using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Gateway.Auth;

/// <summary>
/// A JWT in the shape nearly every identity provider issues, read without the general handler: a compact JWS (three
/// base64url parts, canonically encoded) whose header holds only <c>alg</c>, <c>typ</c> and <c>kid</c>, and whose payload is
/// a JSON object whose registered claims have the types the handler reads them as. Anything else is not read here (null),
/// and the general handler reads and decides it, so that a token read here is one the handler would have read too.
/// Decoded bytes live in one pooled buffer, given back by <see cref="Dispose"/>. The methods on every handshake's
/// path are compiled optimized from their first call: a gateway meets its densest handshakes right after it starts
/// (every client of a replaced node reconnecting), before tiered compilation has optimized them.
/// </summary>
internal sealed class CompactJws : IDisposable
{
    /// <summary>Longer tokens go to the general handler (which has its own, larger limit).</summary>
    public const int MaxLength = 8192;

    /// <summary>The latest second a <see cref="DateTime"/> holds (9999-12-31T23:59:59Z), as Unix seconds.</summary>
    private const long MaxSeconds = 253_402_300_799;

    // A claim of this type is an actor token to the handler's claims identity; such tokens are left to it.
    private static ReadOnlySpan<byte> ActorClaimType => "http://schemas.xmlsoap.org/ws/2009/09/identity/claims/actor"u8;

    private enum Claim
    {
        Other,
        Exp,
        Nbf,
        Iat,
        Iss,
        Aud,
        Sub,
        Text,
    }

    private byte[]? _buffer;
    private int _inputLength;
    private int _payloadStart;
    private int _payloadLength;
    private int _signatureStart;
    private int _signatureLength;

    private CompactJws()
    {
    }

    /// <summary>The signature algorithm: HS256, RS256 or ES256.</summary>
    public string Algorithm { get; private set; } = "";

    /// <summary>The <c>kid</c> header, or null.</summary>
    public string? KeyId { get; private set; }

    /// <summary>The <c>iss</c> claim.</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>The <c>exp</c> claim, in Unix seconds (1 to the end of <see cref="DateTime"/>).</summary>
    public long Expires { get; private set; }

    /// <summary>The <c>nbf</c> claim, in Unix seconds, or null.</summary>
    public long? NotBefore { get; private set; }

    /// <summary>True when the audience asked for is among the token's (always true when none is asked for).</summary>
    public bool AudienceMatches { get; private set; }

    /// <summary>The user id claim: its string, or its JSON text when it is not a string; null when absent.</summary>
    public string? UserId { get; private set; }

    /// <summary>The bytes the signature is over: the ASCII of <c>header.payload</c>.</summary>
    public ReadOnlySpan<byte> SignedInput => _buffer.AsSpan(0, _inputLength);

    /// <summary>The decoded signature.</summary>
    public ReadOnlySpan<byte> Signature => _buffer.AsSpan(_signatureStart, _signatureLength);

    /// <summary>The decoded payload (UTF-8 JSON).</summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_payloadStart, _payloadLength);

    /// <summary>
    /// Reads <paramref name="token"/>, or null when it is not of the common shape. <paramref name="audience"/> is the
    /// audience tokens must name (null: not checked); <paramref name="userIdClaim"/> the claim that names the user.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static CompactJws? TryRead(string token, string? audience, string userIdClaim)
    {
        if (token.Length is 0 or > MaxLength)
        {
            return null;
        }

        var dot1 = token.IndexOf('.', StringComparison.Ordinal);
        var dot2 = dot1 < 0 ? -1 : token.IndexOf('.', dot1 + 1);
        if (dot1 <= 0 || dot2 <= dot1 + 1 || dot2 == token.Length - 1 || token.IndexOf('.', dot2 + 1) >= 0)
        {
            return null;
        }

        var chars = token.AsSpan();
        if (!IsCanonicalBase64Url(chars[..dot1]) || !IsCanonicalBase64Url(chars[(dot1 + 1)..dot2]) || !IsCanonicalBase64Url(chars[(dot2 + 1)..]))
        {
            return null;
        }

        // One buffer: the signed input, then the decoded header, payload and signature (each shorter than its text).
        var jws = new CompactJws { _buffer = ArrayPool<byte>.Shared.Rent(token.Length * 2) };
        try
        {
            var buffer = jws._buffer.AsSpan();
            jws._inputLength = Encoding.ASCII.GetBytes(chars[..dot2], buffer);
            var at = jws._inputLength;
            if (!Decode(chars[..dot1], buffer, ref at, out var headerStart, out var headerLength)
                || !Decode(chars[(dot1 + 1)..dot2], buffer, ref at, out jws._payloadStart, out jws._payloadLength)
                || !Decode(chars[(dot2 + 1)..], buffer, ref at, out jws._signatureStart, out jws._signatureLength)
                || !jws.ReadHeader(buffer.Slice(headerStart, headerLength))
                || !jws.ReadPayload(audience, userIdClaim))
            {
                jws.Dispose();
                return null;
            }

            return jws;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            // Whatever this reading cannot make sense of, the general handler reads (and refuses, or not) itself.
            jws.Dispose();
            return null;
        }
    }

    /// <summary>Writes the payload's claims, each as it is, after <c>principalId</c> (see <c>ConnectionIdentity.AuthorizerObject</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public byte[] AuthorizerObject()
    {
        using var frame = Protocol.FrameWriter.Start();
        var writer = frame.Json;
        writer.WriteStartObject();
        if (UserId is null)
        {
            writer.WriteNull("principalId");
        }
        else
        {
            writer.WriteString("principalId", UserId);
        }

        var reader = new Utf8JsonReader(Payload);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("principalId"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            CopyToken(ref reader, writer);
            reader.Read();
            CopyValue(ref reader, writer);
        }

        writer.WriteEndObject();
        return frame.ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes the value the reader is at as <c>JsonElement.WriteTo</c> would: strings and names re-escaped, numbers as written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyValue(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            CopyToken(ref reader, writer);
            return;
        }

        var depth = reader.CurrentDepth;
        do
        {
            CopyToken(ref reader, writer);
        }
        while (reader.Read() && reader.CurrentDepth > depth);

        CopyToken(ref reader, writer);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyToken(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                writer.WriteStartObject();
                break;
            case JsonTokenType.EndObject:
                writer.WriteEndObject();
                break;
            case JsonTokenType.StartArray:
                writer.WriteStartArray();
                break;
            case JsonTokenType.EndArray:
                writer.WriteEndArray();
                break;
            case JsonTokenType.PropertyName:
                if (reader.ValueIsEscaped)
                {
                    writer.WritePropertyName(Unescaped(ref reader));
                }
                else
                {
                    writer.WritePropertyName(reader.ValueSpan);
                }

                break;
            case JsonTokenType.String:
                if (reader.ValueIsEscaped)
                {
                    writer.WriteStringValue(Unescaped(ref reader));
                }
                else
                {
                    writer.WriteStringValue(reader.ValueSpan);
                }

                break;
            case JsonTokenType.Number:
                writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                break;
            case JsonTokenType.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonTokenType.False:
                writer.WriteBooleanValue(false);
                break;
            case JsonTokenType.Null:
                writer.WriteNullValue();
                break;
            default:
                throw new JsonException($"unexpected {reader.TokenType}");
        }
    }

    private static byte[] Unescaped(ref Utf8JsonReader reader)
    {
        // Unescaping never lengthens the text.
        var bytes = new byte[reader.ValueSpan.Length];
        var length = reader.CopyString(bytes);
        return bytes.AsSpan(0, length).ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ReadHeader(ReadOnlySpan<byte> header)
    {
        var reader = new Utf8JsonReader(header);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? alg = null;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("alg"u8) ? 1 : reader.ValueTextEquals("typ"u8) ? 2 : reader.ValueTextEquals("kid"u8) ? 4 : 0;
            // Any other header (crit, enc, cty, x5t, jku, ...) or one named twice is the general handler's to judge.
            if (field == 0 || (seen & field) != 0 || !reader.Read() || reader.TokenType != JsonTokenType.String || !IsValidText(ref reader))
            {
                return false;
            }

            seen |= field;
            if (field == 1)
            {
                alg = reader.ValueTextEquals("HS256"u8) ? "HS256" : reader.ValueTextEquals("RS256"u8) ? "RS256" : reader.ValueTextEquals("ES256"u8) ? "ES256" : null;
            }
            else if (field == 4)
            {
                KeyId = reader.GetString();
            }
        }

        if (alg is null || reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            return false;
        }

        Algorithm = alg;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ReadPayload(string? audience, string userIdClaim)
    {
        var reader = new Utf8JsonReader(Payload);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? issuer = null;
        long? expires = null;
        var audienceMatches = audience is null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!IsValidText(ref reader) || reader.ValueTextEquals(ActorClaimType))
            {
                return false;
            }

            // A claim named twice counts once, the last time, as the handler reads it.
            var isUser = reader.ValueTextEquals(userIdClaim);
            var claim = reader.ValueTextEquals("exp"u8) ? Claim.Exp : reader.ValueTextEquals("nbf"u8) ? Claim.Nbf : reader.ValueTextEquals("iat"u8) ? Claim.Iat
                : reader.ValueTextEquals("iss"u8) ? Claim.Iss : reader.ValueTextEquals("aud"u8) ? Claim.Aud : reader.ValueTextEquals("sub"u8) ? Claim.Sub
                : reader.ValueTextEquals("jti"u8) || reader.ValueTextEquals("azp"u8) ? Claim.Text : Claim.Other;
            reader.Read();
            var kind = reader.TokenType;
            if (isUser && kind is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                // A user id that is an object or array keeps its JSON text as written: the general path has it.
                return false;
            }

            switch (claim)
            {
                case Claim.Exp or Claim.Nbf or Claim.Iat:
                    if (kind != JsonTokenType.Number || !reader.TryGetInt64(out var seconds) || (claim != Claim.Iat && seconds is < 1 or > MaxSeconds))
                    {
                        return false;
                    }

                    if (claim == Claim.Exp)
                    {
                        expires = seconds;
                    }
                    else if (claim == Claim.Nbf)
                    {
                        NotBefore = seconds;
                    }

                    break;
                case Claim.Iss:
                    if (kind != JsonTokenType.String || !IsValidText(ref reader))
                    {
                        return false;
                    }

                    issuer = reader.GetString();
                    break;
                case Claim.Aud:
                    if (!ReadAudience(ref reader, audience, out audienceMatches))
                    {
                        return false;
                    }

                    break;
                case Claim.Sub or Claim.Text:
                    if (!(kind == JsonTokenType.String || (claim == Claim.Sub && kind == JsonTokenType.Number)) || !ValidValue(ref reader))
                    {
                        return false;
                    }

                    break;
                default:
                    if (!ValidValue(ref reader))
                    {
                        return false;
                    }

                    break;
            }

            if (isUser)
            {
                // As JsonElement gives it: a string's value, or any other value's JSON text.
                UserId = kind == JsonTokenType.String ? reader.GetString() : Encoding.UTF8.GetString(reader.ValueSpan);
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || issuer is null || expires is null)
        {
            return false;
        }

        Issuer = issuer;
        Expires = expires.Value;
        AudienceMatches = audienceMatches;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool ReadAudience(ref Utf8JsonReader reader, string? audience, out bool matches)
    {
        matches = audience is null;
        if (reader.TokenType == JsonTokenType.String)
        {
            if (!IsValidText(ref reader))
            {
                return false;
            }

            matches |= audience is not null && reader.ValueTextEquals(audience);
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String || !IsValidText(ref reader))
            {
                return false;
            }

            matches |= audience is not null && reader.ValueTextEquals(audience);
        }

        return true;
    }

    /// <summary>Checks every string and name of the value the reader is at, leaving the reader at its last token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool ValidValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return reader.TokenType != JsonTokenType.String || IsValidText(ref reader);
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && !IsValidText(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the string or name the reader is at unescapes to valid UTF-8 (as the handler will read it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool IsValidText(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            return Ascii.IsValid(raw) || Utf8.IsValid(raw);
        }

        var scratch = raw.Length <= 256 ? stackalloc byte[raw.Length] : new byte[raw.Length];
        try
        {
            var length = reader.CopyString(scratch);
            return Utf8.IsValid(scratch[..length]);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Base64url without padding, whitespace or stray bits, so that the text is the one encoding of its bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool IsCanonicalBase64Url(ReadOnlySpan<char> part)
    {
        if (part.Length % 4 == 1)
        {
            return false;
        }

        foreach (var c in part)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        var unused = (part.Length % 4) switch { 2 => 0b1111, 3 => 0b11, _ => 0 };
        return unused == 0 || (Sextet(part[^1]) & unused) == 0;
    }

    private static int Sextet(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Decode(ReadOnlySpan<char> part, Span<byte> buffer, ref int at, out int start, out int length)
    {
        start = at;
        if (!Base64Url.TryDecodeFromChars(part, buffer[at..], out length) || length == 0)
        {
            return false;
        }

        at += length;
        return true;
    }
}
