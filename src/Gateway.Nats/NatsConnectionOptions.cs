using NATS.Client.Core;
using NATS.NKeys;

namespace Gateway.Nats;

/// <summary>Turns <see cref="NatsOptions"/> into the client's options: servers, credentials, TLS, and reconnection that never gives up.</summary>
internal static class NatsConnectionOptions
{
    public static NatsOpts Create(NatsOptions options, string nodeId)
    {
        var auth = NatsAuthOpts.Default with
        {
            Token = Blank(options.Token),
            CredsFile = Blank(options.Credentials),
            Username = Blank(options.Username),
            Password = Blank(options.Password),
        };
        if (Blank(options.NKeySeed) is { } seed)
        {
            // The client signs the server's nonce with the seed and names the public key it belongs to.
            using var pair = KeyPair.FromSeed(seed.ToCharArray());
            auth = auth with { Seed = seed, NKey = pair.GetPublicKey() };
        }

        var tls = options.Tls;
        return NatsOpts.Default with
        {
            Url = options.Url!,
            Name = "gateway-" + nodeId,
            AuthOpts = auth,
            TlsOpts = NatsTlsOpts.Default with
            {
                Mode = tls.Mode switch
                {
                    NatsTlsMode.Require => TlsMode.Require,
                    NatsTlsMode.Implicit => TlsMode.Implicit,
                    NatsTlsMode.Disable => TlsMode.Disable,
                    _ => TlsMode.Auto,
                },
                CaFile = Blank(tls.CaFile),
                CertFile = Blank(tls.CertFile),
                KeyFile = Blank(tls.KeyFile),
                InsecureSkipVerify = tls.InsecureSkipVerify,
            },

            // A node starts, and serves its own clients, with NATS down, and reconnects for as long as it runs.
            RetryOnInitialConnect = true,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            ReconnectJitter = TimeSpan.FromMilliseconds(100),

            // A subscription's messages wait for the reader rather than being dropped: one channel carries a node's
            // requests and answers, and a dropped one would be a call that times out.
            SubPendingChannelCapacity = 64 * 1024,
            SubPendingChannelFullMode = System.Threading.Channels.BoundedChannelFullMode.Wait,
            RequestTimeout = options.RequestTimeout,

            // Event types are any text: headers in UTF-8, as subjects are.
            HeaderEncoding = System.Text.Encoding.UTF8,
        };
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
