using System.Text.Json;
using Gateway.Connections;
using Gateway.Topics;

namespace Gateway.Management;

/// <summary>
/// Reads and checks the body of <c>POST /@batch</c> whole, before anything is sent: <c>{"items": [item, …]}</c>,
/// each item <c>{"connectionId"|"userId"|"topic": "…" | "broadcast": true, "type", "data", "body", "bodyBase64",
/// "exclude"}</c>. Any malformed item makes the whole batch a bad request naming its index.
/// </summary>
internal static class BatchReader
{
    /// <summary>The items; or the problem (<paramref name="tooMany"/> when there are more than <paramref name="maxItems"/>).</summary>
    public static string? TryRead(byte[] body, int maxItems, int maxTopicLength, out List<BatchItem> items, out bool tooMany)
    {
        items = [];
        tooMany = false;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return "The body must be JSON: {\"items\": [...]}.";
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return "The body must be {\"items\": [...]}.";
            }

            JsonElement? list = null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name != "items" || list is not null)
                {
                    return $"Unknown or repeated field '{property.Name}': the body must be {{\"items\": [...]}}.";
                }

                list = property.Value;
            }

            if (list is not { ValueKind: JsonValueKind.Array } array)
            {
                return "The body must be {\"items\": [...]}, items an array.";
            }

            if (array.GetArrayLength() > maxItems)
            {
                tooMany = true;
                return $"A batch carries at most {maxItems} items.";
            }

            var index = 0;
            foreach (var element in array.EnumerateArray())
            {
                if (ReadItem(index, element, maxTopicLength, out var item) is { } problem)
                {
                    return $"Invalid item {index}: {problem}";
                }

                items.Add(item!);
                index++;
            }

            return null;
        }
    }

    private static string? ReadItem(int index, JsonElement element, int maxTopicLength, out BatchItem? item)
    {
        item = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            return "an item must be an object.";
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? connectionId = null, userId = null, topic = null, type = null, text = null, base64 = null;
        var broadcast = false;
        JsonElement? data = null;
        var exclude = new HashSet<string>(StringComparer.Ordinal);
        var excludeGiven = false;
        foreach (var property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                return $"'{property.Name}' is given twice.";
            }

            var value = property.Value;
            switch (property.Name)
            {
                case "connectionId":
                case "userId":
                case "topic":
                case "type":
                case "body":
                case "bodyBase64":
                    if (value.ValueKind != JsonValueKind.String)
                    {
                        return $"'{property.Name}' must be a string.";
                    }

                    var s = value.GetString()!;
                    _ = property.Name switch
                    {
                        "connectionId" => connectionId = s,
                        "userId" => userId = s,
                        "topic" => topic = s,
                        "type" => type = s,
                        "body" => text = s,
                        _ => base64 = s,
                    };
                    break;
                case "broadcast":
                    if (value.ValueKind != JsonValueKind.True)
                    {
                        return "'broadcast' must be true.";
                    }

                    broadcast = true;
                    break;
                case "data":
                    data = value;
                    break;
                case "exclude":
                    if (value.ValueKind != JsonValueKind.Array)
                    {
                        return "'exclude' must be an array of connection ids.";
                    }

                    excludeGiven = true;
                    foreach (var id in value.EnumerateArray())
                    {
                        if (id.ValueKind != JsonValueKind.String)
                        {
                            return "'exclude' must be an array of connection ids.";
                        }

                        if (ExcludeQuery.Check(id.GetString()!) is { } bad)
                        {
                            return bad;
                        }

                        exclude.Add(id.GetString()!);
                    }

                    if (exclude.Count > ExcludeQuery.MaxIds)
                    {
                        return $"'exclude' names at most {ExcludeQuery.MaxIds} connections.";
                    }

                    break;
                default:
                    return $"unknown field '{property.Name}'.";
            }
        }

        var targets = (connectionId is null ? 0 : 1) + (userId is null ? 0 : 1) + (topic is null ? 0 : 1) + (broadcast ? 1 : 0);
        if (targets != 1)
        {
            return targets == 0
                ? "no target: give one of connectionId, userId, topic or \"broadcast\": true."
                : "more than one target: give only one of connectionId, userId, topic or \"broadcast\": true.";
        }

        if (topic is not null)
        {
            if (!TopicName.IsValidName(topic, maxTopicLength))
            {
                return $"invalid topic: a topic is dot-separated segments without wildcards, at most {maxTopicLength} characters.";
            }

            if (text is not null || base64 is not null)
            {
                return "a topic item takes 'type' and 'data', not 'body' or 'bodyBase64'.";
            }

            if (type is not { Length: > 0 })
            {
                return "a topic item needs a non-empty 'type'.";
            }

            var raw = data is { } d ? System.Text.Encoding.UTF8.GetBytes(d.GetRawText()) : "null"u8.ToArray();
            item = new BatchItem(index, BatchTarget.Topic, topic, type, raw, false, exclude);
            return null;
        }

        if (type is not null || data is not null)
        {
            return "'type' and 'data' are for topic items; this item takes 'body' or 'bodyBase64'.";
        }

        if (text is not null && base64 is not null)
        {
            return "give 'body' or 'bodyBase64', not both.";
        }

        if (text is null && base64 is null)
        {
            return "the item needs 'body' (text) or 'bodyBase64' (binary).";
        }

        byte[] payload;
        if (base64 is not null)
        {
            try
            {
                payload = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                return "'bodyBase64' is not valid base64.";
            }
        }
        else
        {
            payload = System.Text.Encoding.UTF8.GetBytes(text!);
        }

        if (connectionId is not null)
        {
            if (!ConnectionId.IsWellFormed(connectionId))
            {
                return "Invalid connectionId: " + connectionId;
            }

            if (excludeGiven)
            {
                return "'exclude' is for userId, topic and broadcast items.";
            }

            item = new BatchItem(index, BatchTarget.Connection, connectionId, "", payload, base64 is not null, exclude);
            return null;
        }

        if (userId is { Length: 0 })
        {
            return "'userId' must not be empty.";
        }

        item = userId is not null
            ? new BatchItem(index, BatchTarget.User, userId, "", payload, base64 is not null, exclude)
            : new BatchItem(index, BatchTarget.Broadcast, "", "", payload, base64 is not null, exclude);
        return null;
    }
}
