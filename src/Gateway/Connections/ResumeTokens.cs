using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Connections;

/// <summary>What a valid resume token names.</summary>
/// <param name="ConnectionId">The session's connection id.</param>
/// <param name="NodeId">The node that held the session when the token was made.</param>
/// <param name="UserId">The session's user, or null for an anonymous one.</param>
/// <param name="Generation">The token's number: a session accepts only its newest.</param>
/// <param name="Expires">When the token stops being accepted.</param>
public readonly record struct ResumeTicket(string ConnectionId, string NodeId, string? UserId, uint Generation, DateTimeOffset Expires);

/// <summary>
/// Makes and checks resume tokens: opaque to clients, <c>base64url(ticket) "." base64url(HMAC-SHA256(key, ticket))</c>,
/// signed with the first of <c>Connections:ResumeSigningKeys</c> and accepted when any of them verifies (so keys can be
/// rotated). Without configured keys, a key made at start signs them: tokens then hold on this process only.
/// </summary>
public sealed class ResumeTokens(ConnectionRuntime runtime, GatewayNode node)
{
    private const byte Version = 1;
    private readonly byte[] _processKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// A token for <paramref name="connection"/> on this node, numbered <paramref name="generation"/> (else its current
    /// number). It holds while the session may: to its lifetime's end and a window after it, else a day.
    /// </summary>
    public string For(GatewayConnection connection, uint? generation = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var o = runtime.Options;
        var expires = o.MaxLifetime > TimeSpan.Zero ? connection.ConnectedAt + o.MaxLifetime + o.ResumeWindow : runtime.Time.GetUtcNow().AddDays(1);
        return Issue(new ResumeTicket(connection.Id, node.Id, connection.UserId, generation ?? connection.ResumeGeneration, expires));
    }

    /// <summary>A token for <paramref name="ticket"/>.</summary>
    public string Issue(ResumeTicket ticket)
    {
        var id = Encoding.UTF8.GetBytes(ticket.ConnectionId);
        var node = Encoding.UTF8.GetBytes(ticket.NodeId);
        var user = ticket.UserId is null ? null : Encoding.UTF8.GetBytes(ticket.UserId);
        var body = new byte[1 + 8 + 4 + 1 + id.Length + 1 + node.Length + 2 + (user?.Length ?? 0)];
        var at = 0;
        body[at++] = Version;
        BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(at), ticket.Expires.ToUnixTimeSeconds());
        at += 8;
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(at), ticket.Generation);
        at += 4;
        body[at++] = (byte)id.Length;
        id.CopyTo(body, at);
        at += id.Length;
        body[at++] = (byte)node.Length;
        node.CopyTo(body, at);
        at += node.Length;
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(at), user is null ? ushort.MaxValue : (ushort)user.Length);
        at += 2;
        user?.CopyTo(body, at);
        return Base64Url.EncodeToString(body) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(Keys()[0], body));
    }

    /// <summary>The ticket of <paramref name="token"/>, or null with why not (<c>invalid</c>, <c>expired</c>).</summary>
    public ResumeTicket? Read(string token, DateTimeOffset now, out string reason)
    {
        reason = "invalid";
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > 2048)
        {
            return null;
        }

        byte[] body;
        byte[] signature;
        try
        {
            body = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            signature = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return null;
        }

        var valid = false;
        foreach (var key in Keys())
        {
            valid |= CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, body), signature);
        }

        if (!valid || Parse(body) is not { } ticket)
        {
            return null;
        }

        if (ticket.Expires <= now)
        {
            reason = "expired";
            return null;
        }

        reason = "";
        return ticket;
    }

    private static ResumeTicket? Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            if (body.Length < 16 || body[0] != Version)
            {
                return null;
            }

            var expires = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(body[1..]));
            var generation = BinaryPrimitives.ReadUInt32BigEndian(body[9..]);
            var at = 13;
            var id = Encoding.UTF8.GetString(body.Slice(at + 1, body[at]));
            at += 1 + body[at];
            var node = Encoding.UTF8.GetString(body.Slice(at + 1, body[at]));
            at += 1 + body[at];
            var userLength = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
            at += 2;
            string? user = userLength == ushort.MaxValue ? null : Encoding.UTF8.GetString(body.Slice(at, userLength));
            return ConnectionId.IsWellFormed(id) ? new ResumeTicket(id, node, user, generation, expires) : null;
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// The key that binds a Server-Sent Events client's send URL and event ids to <paramref name="connectionId"/>: 16 bytes
    /// of HMAC-SHA256 over the id with the newest signing key, base64url (22 characters). Any node of the cluster checks
    /// it with the shared keys, without asking the node that holds the connection.
    /// </summary>
    public string ConnectionKey(string connectionId) => Base64Url.EncodeToString(ConnectionMac(Keys()[0], connectionId));

    /// <summary>True when <paramref name="key"/> is <paramref name="connectionId"/>'s key under any of the signing keys.</summary>
    public bool IsConnectionKey(string connectionId, ReadOnlySpan<char> key)
    {
        Span<byte> given = stackalloc byte[16];
        if (key.Length != 22 || !Base64Url.IsValid(key) || !Base64Url.TryDecodeFromChars(key, given, out var length) || length != 16)
        {
            return false;
        }

        var valid = false;
        foreach (var signing in Keys())
        {
            valid |= CryptographicOperations.FixedTimeEquals(ConnectionMac(signing, connectionId), given);
        }

        return valid;
    }

    private static byte[] ConnectionMac(byte[] key, string connectionId) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("sse/" + connectionId))[..16];

    private byte[][] Keys()
    {
        var configured = runtime.Options.ResumeSigningKeys;
        return configured.Count == 0 ? [_processKey] : [.. configured.Select(k => Encoding.UTF8.GetBytes(k))];
    }
}
