using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Client.Management;

/// <summary>One send of a <c>POST /@batch</c>: exactly one target, and a body (or, to a topic, a type and data).</summary>
public sealed record BatchItem
{
    /// <summary>A connection to send to.</summary>
    public string? ConnectionId { get; init; }

    /// <summary>A user, every connection of whom receives it.</summary>
    public string? UserId { get; init; }

    /// <summary>A topic to publish to.</summary>
    public string? Topic { get; init; }

    /// <summary>True to send to every connection.</summary>
    public bool? Broadcast { get; init; }

    /// <summary>A text body.</summary>
    public string? Body { get; init; }

    /// <summary>A binary body, in base64.</summary>
    public string? BodyBase64 { get; init; }

    /// <summary>A topic event's type.</summary>
    public string? Type { get; init; }

    /// <summary>A topic event's data.</summary>
    public JsonElement? Data { get; init; }

    /// <summary>Connections that must not receive it (not for connection items).</summary>
    public IReadOnlyList<string>? Exclude { get; init; }

    /// <summary>A text to one connection.</summary>
    public static BatchItem ToConnection(string connectionId, string body) => new() { ConnectionId = connectionId, Body = body };

    /// <summary>A text to every connection of a user.</summary>
    public static BatchItem ToUser(string userId, string body) => new() { UserId = userId, Body = body };

    /// <summary>An event to a topic.</summary>
    public static BatchItem ToTopic(string topic, string type, JsonElement data) => new() { Topic = topic, Type = type, Data = data };

    /// <summary>A text to every connection.</summary>
    public static BatchItem ToEveryone(string body) => new() { Broadcast = true, Body = body };

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
}
