using System.Text;
using System.Text.Json;

namespace Gateway.Topics;

/// <summary>
/// Fills <c>{name}</c> placeholders of a topic template (<c>events.{org_id}.&gt;</c>, <c>conversation:{conversation_id}</c>).
/// Every value must be a plain piece of one segment (no dots, wildcards or spaces), so no value can widen or move a topic.
/// </summary>
public static class TopicTemplate
{
    /// <summary>The filled template, or null when a placeholder has no acceptable value.</summary>
    public static string? Fill(string template, Func<string, string?> valueOf)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(valueOf);
        var result = new StringBuilder(template.Length + 16);
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf('{', at);
            if (open < 0)
            {
                result.Append(template, at, template.Length - at);
                break;
            }

            var close = template.IndexOf('}', open);
            if (close < 0)
            {
                return null;
            }

            result.Append(template, at, open - at);
            var value = valueOf(template[(open + 1)..close]);
            if (string.IsNullOrEmpty(value) || value.Contains('.', StringComparison.Ordinal) || !TopicName.IsValidName(value, int.MaxValue))
            {
                return null;
            }

            result.Append(value);
            at = close + 1;
        }

        return result.ToString();
    }

    /// <summary>A value of a JSON message for a placeholder: a string or number at the top level, or under <c>data</c>.</summary>
    public static string? ValueOf(JsonElement message, string name)
    {
        foreach (var scope in (ReadOnlySpan<JsonElement>)[message, message.ValueKind == JsonValueKind.Object && message.TryGetProperty("data", out var data) ? data : default])
        {
            if (scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty(name, out var value))
            {
                return value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Number => value.GetRawText(),
                    _ => null,
                };
            }
        }

        return null;
    }
}
