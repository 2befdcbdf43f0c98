using System.Security.Claims;
using System.Text.Json;

namespace Gateway.Connections;

/// <summary>Who an authenticated connection is: its claims, its user id, and what integration events carry of it.</summary>
public sealed class ConnectionIdentity
{
    /// <summary>Creates an identity.</summary>
    /// <param name="method">How the client authenticated: <c>jwt</c>, <c>secret</c>, <c>sigv4</c> or <c>authorizer</c>.</param>
    /// <param name="principal">The claims.</param>
    /// <param name="userId">The user id (JWT subject, authorizer principal, access key id), or null.</param>
    /// <param name="authorizer">The <c>requestContext.authorizer</c> object of integration events (UTF-8 JSON), or null for none.</param>
    /// <param name="expiresAt">When the credentials expire, or null.</param>
    public ConnectionIdentity(string method, ClaimsPrincipal principal, string? userId, byte[]? authorizer, DateTimeOffset? expiresAt)
        : this(method, new Lazy<ClaimsPrincipal>(principal), userId, authorizer, expiresAt)
    {
    }

    /// <summary>Creates an identity whose claims are made the first time they are asked for (most connections never ask).</summary>
    /// <param name="method">How the client authenticated.</param>
    /// <param name="principal">Makes the claims; called at most once.</param>
    /// <param name="userId">The user id, or null.</param>
    /// <param name="authorizer">The <c>requestContext.authorizer</c> object of integration events (UTF-8 JSON), or null for none.</param>
    /// <param name="expiresAt">When the credentials expire, or null.</param>
    public ConnectionIdentity(string method, Func<ClaimsPrincipal> principal, string? userId, byte[]? authorizer, DateTimeOffset? expiresAt)
        : this(method, new Lazy<ClaimsPrincipal>(principal, LazyThreadSafetyMode.ExecutionAndPublication), userId, authorizer, expiresAt)
    {
    }

    private ConnectionIdentity(string method, Lazy<ClaimsPrincipal> principal, string? userId, byte[]? authorizer, DateTimeOffset? expiresAt)
    {
        Method = method;
        _principal = principal;
        UserId = userId;
        AuthorizerJson = authorizer;
        ExpiresAt = expiresAt;
    }

    private readonly Lazy<ClaimsPrincipal> _principal;

    /// <summary>How the client authenticated: <c>jwt</c>, <c>secret</c>, <c>sigv4</c> or <c>authorizer</c>.</summary>
    public string Method { get; }

    /// <summary>The claims.</summary>
    public ClaimsPrincipal Principal => _principal.Value;

    /// <summary>The user id: the JWT subject, the authorizer's principal id, or the signing access key id.</summary>
    public string? UserId { get; }

    /// <summary>The <c>requestContext.authorizer</c> object of integration events, serialized once (UTF-8 JSON).</summary>
    public ReadOnlyMemory<byte>? AuthorizerJson { get; }

    /// <summary>When the credentials stop being valid, or null when they do not expire.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>Writes <c>{"principalId": userId, ...values}</c>, Amazon's shape of a Lambda authorizer's context.</summary>
    public static byte[] AuthorizerObject(string? principalId, IEnumerable<KeyValuePair<string, JsonElement>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var buffer = new MemoryStream();
        // Embedded as it is in integration events, so written as they are (see WebSocketEvent).
        using (var writer = new Utf8JsonWriter(buffer, Protocol.FrameJson.WriterOptions))
        {
            writer.WriteStartObject();
            if (principalId is null)
            {
                writer.WriteNull("principalId");
            }
            else
            {
                writer.WriteString("principalId", principalId);
            }

            foreach (var (name, value) in values)
            {
                if (name != "principalId")
                {
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
