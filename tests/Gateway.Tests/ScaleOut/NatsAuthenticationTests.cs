using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Nats;
using Gateway.Tests.Backplane;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using NATS.NKeys;

namespace Gateway.Tests.ScaleOut;

/// <summary>The ways NATS users authenticate (a token, an NKey seed) and TLS, against a real nats-server that requires them; secrets never in the log.</summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsAuthenticationTests
{
    private static NatsBackplaneTransport Transport(NatsOptions options, RecordingLogger<NatsBackplaneTransport> log)
    {
        options.SubjectPrefix = "auth";
        options.RequestTimeout = TimeSpan.FromSeconds(1);
        return new NatsBackplaneTransport(Options.Create(options), Options.Create(new GatewayOptions()), TimeProvider.System, log);
    }

    private static async Task<bool> AnnouncesAsync(NatsBackplaneTransport transport)
    {
        await transport.ConnectAsync("AUTHNODE", new SilentReceiver(), CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await transport.SubscribeAsync();
                await transport.RenewLivenessAsync("AUTHNODE", "x", TimeSpan.FromSeconds(5));
                return transport.IsConnected && await transport.ReadLivenessAsync("AUTHNODE") == "x";
            }
            catch (BackplaneUnavailableException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }

    [Fact]
    public async Task A_token_is_sent_and_a_wrong_one_is_refused_without_appearing_in_the_log()
    {
        const string Token = "s3cr3t-token-of-the-bus";
        await using var nats = await NatsServer.StartAsync($$"""authorization { token: "{{Token}}" }""");

        var goodLog = new RecordingLogger<NatsBackplaneTransport>();
        await using (var good = Transport(new NatsOptions { Url = nats.Url, Token = Token }, goodLog))
        {
            Assert.True(await AnnouncesAsync(good));
        }

        var badLog = new RecordingLogger<NatsBackplaneTransport>();
        await using (var bad = Transport(new NatsOptions { Url = nats.Url, Token = "wrong-" + Token }, badLog))
        {
            Assert.False(await AnnouncesAsync(bad));
        }

        Assert.NotEmpty(badLog.Events);
        Assert.DoesNotContain(goodLog.Events.Concat(badLog.Events), e => e.Message.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_NKey_seed_signs_the_servers_nonce()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        var seed = user.GetSeed();
        await using var nats = await NatsServer.StartAsync($$"""authorization { users: [ { nkey: "{{user.GetPublicKey()}}" } ] }""");

        var log = new RecordingLogger<NatsBackplaneTransport>();
        await using var transport = Transport(new NatsOptions { Url = nats.Url, NKeySeed = seed }, log);
        Assert.True(await AnnouncesAsync(transport));
        Assert.DoesNotContain(log.Events, e => e.Message.Contains(seed, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_that_requires_TLS_is_reached_with_the_authority_given_and_refused_without_it()
    {
        using var certificates = TestCertificates.Create();
        await using var nats = await NatsServer.StartAsync($$"""
            tls {
              cert_file: "{{certificates.CertificatePath}}"
              key_file: "{{certificates.KeyPath}}"
            }
            """);

        // nats:// with the server asking for TLS: upgraded, and the server's certificate checked against the authority.
        await using (var trusting = Transport(new NatsOptions { Url = nats.Url, Tls = new NatsTlsOptions { CaFile = certificates.CaPath } }, new RecordingLogger<NatsBackplaneTransport>()))
        {
            Assert.True(await AnnouncesAsync(trusting));
        }

        await using var untrusting = Transport(new NatsOptions { Url = nats.Url }, new RecordingLogger<NatsBackplaneTransport>());
        Assert.False(await AnnouncesAsync(untrusting));
    }
}
