using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Topics;

namespace Gateway.Management;

/// <summary>
/// The questions the management API asks every node (as <see cref="ClusterQuery"/> names, answered by
/// <see cref="ManagementQueryHandler"/>s), answered from the node's own state. An answer stays bounded: a page question
/// answers at most the items after the cursor that a page needs (its limit plus one) and the node's total.
/// </summary>
/// <param name="registry">This node's connections.</param>
/// <param name="topics">This node's subscriptions.</param>
/// <param name="node">This node.</param>
internal sealed class ManagementQueries(ConnectionRegistry registry, TopicHub topics, GatewayNode node)
{
    /// <summary>A page of connections: <c>{"after","limit","user","topic"}</c> → <c>{"total","items":[{"id","user","at"}]}</c>.</summary>
    public const string ConnectionPage = "management-connections";

    /// <summary>Closes a user's connections: <c>{"user","code","reason"}</c> → how many were closed, in decimal.</summary>
    public const string CloseUser = "management-close-user";

    /// <summary>How many connections a publish to a topic reaches: the topic → the count, in decimal.</summary>
    public const string TopicSubscribers = "management-topic-subscribers";

    /// <summary>A page of subscribed patterns: <c>{"after","limit","prefix"}</c> → <c>{"total","items":[{"channel","subscribers"}]}</c>.</summary>
    public const string TopicPage = "management-topics";

    /// <summary>Every question's name.</summary>
    public static readonly string[] Names = [ConnectionPage, CloseUser, TopicSubscribers, TopicPage];

    /// <summary>This node's id.</summary>
    public string NodeId => node.Id;

    /// <summary>This node's answer to question <paramref name="name"/> with <paramref name="argument"/>.</summary>
    public byte[] Answer(string name, string argument)
    {
        using var doc = name == TopicSubscribers ? null : JsonDocument.Parse(argument);
        return name switch
        {
            ConnectionPage => Connections(doc!.RootElement),
            CloseUser => Decimal(Close(doc!.RootElement)),
            TopicSubscribers => Decimal(topics.CountSubscribers(argument)),
            TopicPage => Patterns(doc!.RootElement),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a management question"),
        };
    }

    /// <summary>
    /// Asks this node and every other live node, waiting for them no longer than the backplane's request timeout: this
    /// node's answer comes first; nodes that did not answer in time (or at all) are named.
    /// </summary>
    public async Task<ClusterAnswers> AskAsync(IBackplane backplane, string name, string argument, CancellationToken cancellationToken)
    {
        var answers = new List<KeyValuePair<string, byte[]>> { KeyValuePair.Create(node.Id, Answer(name, argument)) };
        try
        {
            var others = await backplane.QueryAllAsync(new ClusterQuery(name, argument), backplane.RequestTimeout, cancellationToken);
            answers.AddRange(others.Answers);
            return new ClusterAnswers(answers, others.Complete, others.MissingNodes);
        }
        catch (BackplaneUnavailableException)
        {
            // The other nodes cannot be reached, and which they are is not known.
            return new ClusterAnswers(answers, false, []);
        }
    }

    /// <summary>The argument of a question, written as JSON by <paramref name="write"/>.</summary>
    public static string Argument(Action<Utf8JsonWriter> write) => Encoding.UTF8.GetString(Write(write));

    /// <summary>A decimal answer; 0 when it is not one.</summary>
    public static int ReadDecimal(byte[] answer) =>
        int.TryParse(Encoding.UTF8.GetString(answer), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;

    private static byte[] Decimal(int value) => Encoding.UTF8.GetBytes(value.ToString(CultureInfo.InvariantCulture));

    private static string? OptionalString(JsonElement argument, string name) =>
        argument.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private byte[] Connections(JsonElement argument)
    {
        var after = OptionalString(argument, "after") ?? "";
        var limit = argument.GetProperty("limit").GetInt32();
        var user = OptionalString(argument, "user");
        var topic = OptionalString(argument, "topic");

        // Closing connections and those still waiting for their credentials are neither listed nor counted.
        IEnumerable<GatewayConnection> open = (user is null ? registry.All() : registry.OfUser(user)).Where(c => c.IsOpen && !c.AwaitingCredentials);
        if (topic is not null)
        {
            var subscribers = topics.SubscribersOf(topic);
            open = open.Where(subscribers.Contains);
        }

        // The first limit + 1 after the cursor, in one pass with a heap of that many (its root, the largest, gives way first).
        var total = 0;
        var heap = new PriorityQueue<GatewayConnection, string>(limit + 2, Comparer<string>.Create(static (a, b) => string.CompareOrdinal(b, a)));
        foreach (var connection in open)
        {
            total++;
            if (string.CompareOrdinal(connection.Id, after) > 0)
            {
                heap.Enqueue(connection, connection.Id);
                if (heap.Count > limit + 1)
                {
                    heap.Dequeue();
                }
            }
        }

        var page = new List<GatewayConnection>(heap.Count);
        while (heap.Count > 0)
        {
            page.Add(heap.Dequeue());
        }

        page.Reverse();
        return Write(json =>
        {
            json.WriteNumber("total", total);
            json.WriteStartArray("items");
            foreach (var connection in page)
            {
                json.WriteStartObject();
                json.WriteString("id", connection.Id);
                json.WriteString("user", connection.UserId);
                json.WriteString("at", ManagementTime.Format(connection.ConnectedAt));
                json.WriteEndObject();
            }

            json.WriteEndArray();
        });
    }

    private int Close(JsonElement argument)
    {
        var user = argument.GetProperty("user").GetString()!;
        var code = argument.GetProperty("code").GetInt32();
        var reason = OptionalString(argument, "reason") ?? "";
        var closed = 0;
        foreach (var connection in registry.OfUser(user))
        {
            if (connection.IsOpen && !connection.AwaitingCredentials && connection.Close(code, reason))
            {
                closed++;
            }
        }

        return closed;
    }

    private byte[] Patterns(JsonElement argument)
    {
        var after = OptionalString(argument, "after") ?? "";
        var limit = argument.GetProperty("limit").GetInt32();
        var prefix = OptionalString(argument, "prefix") ?? "";
        var (page, matching) = topics.PatternsAfter(prefix, after, limit + 1);
        return Write(json =>
        {
            json.WriteNumber("total", matching);
            json.WriteStartArray("items");
            foreach (var (pattern, subscribers) in page)
            {
                json.WriteStartObject();
                json.WriteString("channel", pattern);
                json.WriteNumber("subscribers", subscribers);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        });
    }
}
