using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Gateway.Connections;

/// <summary>
/// Connection ids: 20 URL-safe characters. The first 8 are the owning node's id, so any node can tell
/// where a connection lives without a lookup; the rest are a per-node sequence number and random bits,
/// so ids are unique across nodes and restarts (a node id is minted afresh at every start).
/// </summary>
public static class ConnectionId
{
    /// <summary>Length of every connection id.</summary>
    public const int Length = 20;

    /// <summary>Length of the node id prefix.</summary>
    public const int NodeIdLength = 8;

    /// <summary>Mints a new node id: 6 random bytes, base64url.</summary>
    public static string MintNodeId()
    {
        Span<byte> bytes = stackalloc byte[6];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>True when <paramref name="nodeId"/> has the shape of a node id.</summary>
    public static bool IsValidNodeId(string? nodeId) =>
        nodeId is { Length: NodeIdLength } && IsBase64UrlText(nodeId);

    /// <summary>Mints a connection id owned by <paramref name="nodeId"/>.</summary>
    public static string Mint(string nodeId, uint sequence)
    {
        return string.Create(Length, (nodeId, sequence), static (chars, state) =>
        {
            state.nodeId.AsSpan().CopyTo(chars);
            Span<byte> bytes = stackalloc byte[9];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, state.sequence);
            RandomNumberGenerator.Fill(bytes[4..]);
            Base64Url.EncodeToChars(bytes, chars[NodeIdLength..]);
        });
    }

    /// <summary>True when <paramref name="id"/> has the shape of a connection id.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> id) => id.Length == Length && IsBase64UrlText(id);

    /// <summary>The owning node's id of a well-formed connection id.</summary>
    public static ReadOnlySpan<char> NodeOf(ReadOnlySpan<char> id) => id[..NodeIdLength];

    private static bool IsBase64UrlText(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
