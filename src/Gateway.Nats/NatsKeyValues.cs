using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Gateway.Nats;

/// <summary>
/// Liveness and shared keys on two JetStream key-value buckets. Liveness: bucket <c>{prefix}_nodes</c>, whose
/// <c>MaxAge</c> is the node TTL, so a record not renewed within it is removed by the server itself, as a Redis key
/// with a TTL would be; every node reads it at any moment (a heartbeat heard only by those listening would leave a
/// node that just started unable to tell "gone" from "not heard yet"). Shared keys: bucket <c>{prefix}_keys</c>;
/// NATS 2.9 has no TTL per key, so each value carries its expiry (8 bytes, Unix milliseconds, big-endian) and an
/// expired value reads as absent; the bucket's <c>MaxAge</c> of one day removes what nobody deletes.
/// </summary>
internal sealed class NatsKeyValues(INatsKVStore nodes, INatsKVStore keys, TimeProvider time)
{
    /// <summary>How long the shared-key bucket keeps a value that is never renewed or deleted.</summary>
    public static readonly TimeSpan KeysMaxAge = TimeSpan.FromDays(1);

    public static NatsKVConfig NodesBucket(string prefix, TimeSpan nodeTtl, int replicas) =>
        new(Bucket(prefix, "nodes")) { MaxAge = nodeTtl, History = 1, NumberOfReplicas = replicas, Description = "Gateway node liveness" };

    public static NatsKVConfig KeysBucket(string prefix, int replicas) =>
        new(Bucket(prefix, "keys")) { MaxAge = KeysMaxAge, History = 1, NumberOfReplicas = replicas, Description = "Gateway shared keys" };

    /// <summary>A bucket's name: the prefix with every character a bucket may not hold made <c>_</c>.</summary>
    public static string Bucket(string prefix, string name) =>
        string.Concat(prefix.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')) + "_" + name;

    public async Task RenewLivenessAsync(string nodeId, string value) => await nodes.PutAsync(nodeId, Encoding.UTF8.GetBytes(value));

    public async Task<string?> ReadLivenessAsync(string nodeId)
    {
        var entry = await nodes.TryGetEntryAsync<byte[]>(nodeId);
        return entry.Success && entry.Value.Value is { } value ? Encoding.UTF8.GetString(value) : null;
    }

    /// <summary>
    /// Removes a node's record from the bucket's stream, every message of it: the bucket's own purge would leave a
    /// marker behind, which <see cref="LiveNodesAsync"/> would still find.
    /// </summary>
    public async Task RemoveLivenessAsync(string nodeId) =>
        await nodes.JetStreamContext.PurgeStreamAsync(NodesStream, new StreamPurgeRequest { Filter = NodesSubjects + nodeId });

    /// <summary>
    /// The nodes with a record: the subjects the bucket's stream holds, in one answer of the server. The client's key
    /// listing reads the bucket through a watch until nothing is pending, and under renewals (every node renews its
    /// record all the time) it named a node twice, or stopped after a few: a node listed twice is asked twice and its
    /// answers counted twice, a node left out looks lost.
    /// </summary>
    public async Task<IReadOnlyList<string>> LiveNodesAsync()
    {
        // The server answers up to 100,000 subjects at once, far more nodes than a cluster has.
        var stream = await nodes.JetStreamContext.GetStreamAsync(NodesStream, new StreamInfoRequest { SubjectsFilter = NodesSubjects + ">" });
        return stream.Info.State.Subjects is { } subjects
            ? [.. subjects.Keys.Where(subject => subject.StartsWith(NodesSubjects, StringComparison.Ordinal)).Select(subject => subject[NodesSubjects.Length..])]
            : [];
    }

    // A bucket is the stream KV_{bucket}, a key its subject $KV.{bucket}.{key}.
    private string NodesStream => "KV_" + nodes.Bucket;

    private string NodesSubjects => "$KV." + nodes.Bucket + ".";

    public async Task<bool> SetKeyAsync(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent)
    {
        var name = KeyName(key);
        var stored = Stamp(value, time.GetUtcNow() + ttl);
        if (!onlyIfAbsent)
        {
            await keys.PutAsync(name, stored);
            return true;
        }

        var entry = await keys.TryGetEntryAsync<byte[]>(name);
        if (entry.Success && entry.Value.Value is { } current)
        {
            // Taken while its value lives; an expired value is replaced only if nobody changed it meanwhile.
            return Expired(current) && (await keys.TryUpdateAsync(name, stored, entry.Value.Revision)).Success;
        }

        return (await keys.TryCreateAsync(name, stored)).Success;
    }

    public async Task<byte[]?> GetKeyAsync(string key)
    {
        var entry = await keys.TryGetEntryAsync<byte[]>(KeyName(key));
        return entry.Success && entry.Value.Value is { Length: >= 8 } stored && !Expired(stored) ? stored[8..] : null;
    }

    public async Task DeleteKeyAsync(string key) => await keys.PurgeAsync(KeyName(key));

    // Protocol keys hold characters a key may not (session:{id}); base64url has none of those.
    private static string KeyName(string key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key));

    private static byte[] Stamp(byte[] value, DateTimeOffset expires)
    {
        var stored = new byte[8 + value.Length];
        BinaryPrimitives.WriteInt64BigEndian(stored, expires.ToUnixTimeMilliseconds());
        value.CopyTo(stored, 8);
        return stored;
    }

    private bool Expired(byte[] stored) =>
        stored.Length < 8 || BinaryPrimitives.ReadInt64BigEndian(stored) <= time.GetUtcNow().ToUnixTimeMilliseconds();
}
