using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Management;

namespace Gateway.Tests.Connections;

/// <summary>
/// Resumable sessions on one node: a client whose TCP connection drops (no close frame) comes back with its resume token
/// and gets the same connection id, every frame it had not received, in order, once, and no <c>$disconnect</c>/<c>$connect</c> pair.
/// </summary>
public sealed class ResumeTests
{
    private const string KeyOne = "resume-signing-key-number-one-0123456789";
    private const string KeyTwo = "resume-signing-key-number-two-0123456789";

    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Connections:ResumeWindow"] = "00:00:30",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>A raw client and what its first frame said.</summary>
    private sealed record Session(RawClient Client, string Id, string Token);

    private static async Task<Session> OpenAsync(GatewayHost host, string path = "/")
    {
        var client = await host.ConnectRawAsync(path, receiveBufferSize: 4096);
        var connected = Json(await client.ReadFrameAsync());
        Assert.Equal("connected", connected.GetProperty("type").GetString());
        return new Session(client, connected.GetProperty("connectionId").GetString()!, connected.GetProperty("resumeToken").GetString()!);
    }

    private static JsonElement Json(RawFrame frame) => JsonDocument.Parse(frame.Payload).RootElement.Clone();

    private static string ResumePath(string token, long? received = null, string extra = "") =>
        $"/?resume={Uri.EscapeDataString(token)}" + (received is { } n ? $"&received={n}" : "") + extra;

    /// <summary>Pushes and topic events, alternately, while the client's TCP connection is dropped part way.</summary>
    [Fact]
    public async Task A_session_dropped_mid_burst_resumes_with_every_frame_once_in_order_and_no_disconnect()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        var recorder = host.Services.GetRequiredService<EventRecorder>();
        var publisher = host.Services.GetRequiredService<IGatewayPublisher>();
        var first = await OpenAsync(host);
        await first.Client.SendTextAsync("""{"action":"subscribe","channel":"events.t"}""");
        Assert.Equal("subscribed", Json(await first.Client.ReadFrameAsync()).GetProperty("type").GetString());
        var received = 1L;
        var seen = new List<string>();

        const int Total = 400;
        var expected = new List<string>();
        var dropAfter = new TaskCompletionSource();
        var burst = Task.Run(async () =>
        {
            for (var n = 1; n <= Total; n++)
            {
                if (n == Total / 4)
                {
                    await dropAfter.Task;
                }

                if (n % 2 == 0)
                {
                    Assert.Equal(SendResult.Sent, await host.Sender.SendAsync(first.Id, OutboundMessage.Text(Encoding.UTF8.GetBytes($"p{n}"))));
                    expected.Add($"p{n}");
                }
                else
                {
                    await publisher.PublishAsync("events.t", "tick", Encoding.UTF8.GetBytes($"{n}"));
                    expected.Add($"e{n}");
                }
            }
        });

        // The client reads some, then its TCP connection is reset with frames still in flight.
        while (seen.Count < Total / 8)
        {
            seen.Add(Token(await first.Client.ReadFrameAsync()));
            received++;
        }

        await first.Client.DisposeAsync();
        dropAfter.SetResult();
        await burst.WithTimeout();
        await Wait.UntilAsync(() => host.Connection(first.Id).IsWaiting, "the session waits");
        Assert.DoesNotContain(recorder.All, e => e.ConnectionId == first.Id);

        // Still a live connection to the management API, and a push is kept for it.
        Assert.Equal(HttpStatusCode.OK, (await ManagementCalls.GetAsync(host, $"/@connections/{first.Id}")).Status);

        await using var back = await host.ConnectRawAsync(ResumePath(first.Token, received), receiveBufferSize: 4096);
        var resumed = Json(await back.ReadFrameAsync());
        Assert.Equal("resumed", resumed.GetProperty("type").GetString());
        Assert.Equal(first.Id, resumed.GetProperty("connectionId").GetString());
        Assert.Equal(Total - seen.Count, resumed.GetProperty("missed").GetInt32());
        Assert.NotEqual(first.Token, resumed.GetProperty("resumeToken").GetString());
        while (seen.Count < Total)
        {
            seen.Add(Token(await back.ReadFrameAsync()));
        }

        Assert.Equal(expected, seen);

        // Live again: the ping's answer comes next, nothing else.
        await back.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", Encoding.UTF8.GetString((await back.ReadFrameAsync()).Payload));
        Assert.DoesNotContain(recorder.All, e => e.ConnectionId == first.Id);
        Assert.Equal(1, host.Registry.Count);

        // A normal close ends it, with exactly one $disconnect.
        await back.SendFrameAsync(8, [0x03, 0xE8]);
        var disconnect = await recorder.DisconnectOf(first.Id);
        Assert.Equal(1000, disconnect.StatusCode);
        await Wait.UntilAsync(() => host.Registry.Count == 0, "the registry is empty");
        Assert.Single(recorder.All, e => e.ConnectionId == first.Id);
    }

    private static string Token(RawFrame frame)
    {
        var text = Encoding.UTF8.GetString(frame.Payload);
        return text.StartsWith('p') ? text : "e" + JsonDocument.Parse(text).RootElement.GetProperty("data").GetInt32();
    }

    [Fact]
    public async Task A_client_closing_with_4000_resumes_and_a_resume_before_the_drop_is_seen_takes_the_session_over()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        var recorder = host.Services.GetRequiredService<EventRecorder>();
        var first = await OpenAsync(host);
        await first.Client.SendFrameAsync(8, [0x0F, 0xA0, .. "will resume"u8.ToArray()]);
        Assert.Equal(4000, (await first.Client.ReadUntilCloseAsync()).CloseStatus);
        await Wait.UntilAsync(() => host.Connection(first.Id).IsWaiting, "the session waits");
        Assert.Equal(SendResult.Sent, await host.Sender.SendAsync(first.Id, OutboundMessage.Text("kept"u8.ToArray())));

        var second = await host.ConnectRawAsync(ResumePath(first.Token, 0));
        var resumed = Json(await second.ReadFrameAsync());
        Assert.Equal(1, resumed.GetProperty("missed").GetInt32());
        Assert.Equal("kept", Encoding.UTF8.GetString((await second.ReadFrameAsync()).Payload));

        // The client resumes again while the server still thinks the second socket is live: the third one takes over.
        var third = await host.ConnectRawAsync(ResumePath(resumed.GetProperty("resumeToken").GetString()!, 1));
        Assert.Equal(0, Json(await third.ReadFrameAsync()).GetProperty("missed").GetInt32());
        Assert.Equal(RawFrame.Dropped, (await second.ReadUntilCloseAsync()).Opcode);
        await third.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", Encoding.UTF8.GetString((await third.ReadFrameAsync()).Payload));
        Assert.DoesNotContain(recorder.All, e => e.ConnectionId == first.Id);
        await second.DisposeAsync();
        await third.DisposeAsync();
    }

    [Fact]
    public async Task Forged_expired_replayed_foreign_and_rotated_out_tokens_are_refused_with_a_fresh_connection()
    {
        var reloadable = new ReloadableSettings(new Dictionary<string, string?> { ["Gateway:Connections:ResumeSigningKeys:0"] = KeyOne });
        await using var host = await GatewayHost.StartAsync(
            Settings(("Gateway:Auth:Jwt:SigningKeys:0", TestTokens.Secret), ("Gateway:Auth:Jwt:Required", "false")),
            reloadable: reloadable);
        var recorder = host.Services.GetRequiredService<EventRecorder>();
        var now = host.Time.GetUtcNow();
        var alice = $"&token={TestTokens.Mint(now, "alice")}";
        var session = await OpenAsync(host, $"/?token={TestTokens.Mint(now, "alice")}");
        await session.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(session.Id).IsWaiting, "the session waits");

        async Task RefusedAsync(string path, string reason)
        {
            await using var client = await host.ConnectRawAsync(path);
            var error = Json(await client.ReadFrameAsync());
            Assert.Equal("error", error.GetProperty("type").GetString());
            Assert.Equal("resume_failed", error.GetProperty("code").GetString());
            Assert.Contains(reason, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            var connected = Json(await client.ReadFrameAsync());
            Assert.Equal("connected", connected.GetProperty("type").GetString());
            Assert.NotEqual(session.Id, connected.GetProperty("connectionId").GetString());
            Assert.True(connected.TryGetProperty("resumeToken", out _));
        }

        // Forged: the signature of another ticket, or none.
        var (ticket, signature) = (session.Token.Split('.')[0], session.Token.Split('.')[1]);
        var tokens = host.Services.GetRequiredService<ResumeTokens>();
        var other = tokens.Issue(new ResumeTicket(session.Id, host.Services.GetRequiredService<GatewayNode>().Id, "mallory", 0, now.AddHours(1)));
        await RefusedAsync(ResumePath(other.Split('.')[0] + "." + signature, 0, alice), "not valid");
        await RefusedAsync(ResumePath(ticket, 0, alice), "not valid");
        await RefusedAsync(ResumePath("%%%", 0, alice), "not valid");

        // Another user's credentials with alice's token; a token naming another user with alice's credentials.
        await RefusedAsync(ResumePath(session.Token, 0, $"&token={TestTokens.Mint(now, "bob")}"), "another user");
        await RefusedAsync(ResumePath(session.Token, 0), "another user");
        await RefusedAsync(ResumePath(other, 0, alice), "another user");

        // Expired: a well-signed ticket whose time is over.
        var expired = tokens.Issue(new ResumeTicket(session.Id, host.Services.GetRequiredService<GatewayNode>().Id, "alice", 0, now.AddSeconds(-1)));
        await RefusedAsync(ResumePath(expired, 0, alice), "expired");

        // The key it was signed with rotated out: refused; back in second place: accepted (and the new token is signed with the first).
        reloadable.Apply(new Dictionary<string, string?> { ["Gateway:Connections:ResumeSigningKeys:0"] = KeyTwo });
        await RefusedAsync(ResumePath(session.Token, 0, alice), "not valid");
        reloadable.Apply(new Dictionary<string, string?> { ["Gateway:Connections:ResumeSigningKeys:0"] = KeyTwo, ["Gateway:Connections:ResumeSigningKeys:1"] = KeyOne });
        Assert.True(host.Connection(session.Id).IsWaiting);
        var back = await host.ConnectRawAsync(ResumePath(session.Token, 0, alice));
        var resumed = Json(await back.ReadFrameAsync());
        Assert.Equal("resumed", resumed.GetProperty("type").GetString());
        var newer = resumed.GetProperty("resumeToken").GetString()!;
        await back.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(session.Id).IsWaiting, "the session waits again");

        // Replayed: the token already used; the newest one still works after that.
        await RefusedAsync(ResumePath(session.Token, 0, alice), "used already");
        reloadable.Apply(new Dictionary<string, string?> { ["Gateway:Connections:ResumeSigningKeys:1"] = null });
        await using var last = await host.ConnectRawAsync(ResumePath(newer, 0, alice));
        Assert.Equal("resumed", Json(await last.ReadFrameAsync()).GetProperty("type").GetString());
        Assert.DoesNotContain(recorder.All, e => e.ConnectionId == session.Id);
    }

    [Fact]
    public async Task A_waiting_session_ends_once_with_disconnect_when_its_window_passes_its_buffer_overflows_or_it_is_deleted()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Connections:ResumeBufferMessages", "3")));
        var recorder = host.Services.GetRequiredService<EventRecorder>();

        // The window passes: $disconnect once, with the drop's code; a later resume is refused.
        var late = await OpenAsync(host);
        await late.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(late.Id).IsParked, "the session waits, parked");
        host.Advance(TimeSpan.FromSeconds(29));
        Assert.DoesNotContain(recorder.All, e => e.ConnectionId == late.Id);
        host.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1006, (await recorder.DisconnectOf(late.Id)).StatusCode);
        await using (var again = await host.ConnectRawAsync(ResumePath(late.Token, 0)))
        {
            Assert.Equal("resume_failed", Json(await again.ReadFrameAsync()).GetProperty("code").GetString());
            await again.SendFrameAsync(8, [0x03, 0xE8]);
            await again.ReadUntilCloseAsync();
        }

        // The buffer overflows: the push over it is 429, the session ends, the next push is 410.
        var full = await OpenAsync(host);
        await full.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(full.Id).IsWaiting, "the session waits");
        for (var n = 0; n < 3; n++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ManagementCalls.PostAsync(host, $"/@connections/{full.Id}", $"m{n}")).Status);
        }

        var over = await ManagementCalls.PostAsync(host, $"/@connections/{full.Id}", "m3");
        Assert.Equal(HttpStatusCode.TooManyRequests, over.Status);
        Assert.Equal("LimitExceededException", over.ErrorType);
        Assert.Equal(1006, (await recorder.DisconnectOf(full.Id)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await ManagementCalls.PostAsync(host, $"/@connections/{full.Id}", "m4")).Status);

        // Deleted while it waits: ended at once.
        var deleted = await OpenAsync(host);
        await deleted.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(deleted.Id).IsWaiting, "the session waits");
        Assert.Equal(HttpStatusCode.NoContent, (await ManagementCalls.DeleteAsync(host, $"/@connections/{deleted.Id}")).Status);
        await recorder.DisconnectOf(deleted.Id);

        await Wait.UntilAsync(() => host.Registry.Count == 0 && host.Registry.SlotsInUse == 0, "every slot is free");
        foreach (var id in new[] { late.Id, full.Id, deleted.Id })
        {
            Assert.Single(recorder.All, e => e.ConnectionId == id);
        }
    }

    [Fact]
    public async Task A_resume_whose_missed_frames_are_no_longer_kept_is_refused_and_the_session_ends()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Connections:ResumeBufferMessages", "2")));
        var recorder = host.Services.GetRequiredService<EventRecorder>();
        var session = await OpenAsync(host);
        for (var n = 0; n < 5; n++)
        {
            await host.Sender.SendAsync(session.Id, OutboundMessage.Text(Encoding.UTF8.GetBytes($"m{n}")));
            await session.Client.ReadFrameAsync();
        }

        await session.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(session.Id).IsWaiting, "the session waits");

        // It says it received one: the second to the fifth would be written again, but only two are kept.
        await using var back = await host.ConnectRawAsync(ResumePath(session.Token, 1));
        Assert.Contains("no longer kept", Json(await back.ReadFrameAsync()).GetProperty("message").GetString(), StringComparison.Ordinal);
        await recorder.DisconnectOf(session.Id);
    }

    [Fact]
    public async Task Waiting_sessions_count_toward_max_connections_and_a_drain_ends_them_with_disconnect()
    {
        var host = await GatewayHost.StartAsync(Settings(("Gateway:Connections:MaxConnections", "1")));
        var recorder = host.Services.GetRequiredService<EventRecorder>();
        var session = await OpenAsync(host);
        await session.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(session.Id).IsWaiting, "the session waits");
        var (status, _) = await (await RawClient.OpenAsync(host.ClientEndPoint)).HandshakeAsync(host.ClientEndPoint, "/");
        Assert.Equal(503, status);

        await host.DisposeAsync();
        Assert.Single(recorder.All, e => e.ConnectionId == session.Id);
    }

    [Fact]
    public async Task A_refreshed_token_comes_with_a_resume_token_that_resumes_the_session()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Auth:Jwt:SigningKeys:0", TestTokens.Secret)));
        var now = host.Time.GetUtcNow();
        var session = await OpenAsync(host, $"/?token={TestTokens.Mint(now, "alice")}");
        await session.Client.SendTextAsync($$"""{"action":"refresh","token":"{{TestTokens.Mint(now, "alice", lifetime: TimeSpan.FromHours(2))}}","id":1}""");
        var refreshed = Json(await session.Client.ReadFrameAsync());
        Assert.Equal("refreshed", refreshed.GetProperty("type").GetString());
        var token = refreshed.GetProperty("resumeToken").GetString()!;
        await session.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(session.Id).IsWaiting, "the session waits");

        await using var back = await host.ConnectRawAsync(ResumePath(token, 1, $"&token={TestTokens.Mint(now, "alice")}"));
        var resumed = Json(await back.ReadFrameAsync());
        Assert.Equal("resumed", resumed.GetProperty("type").GetString());
        Assert.Equal(session.Id, resumed.GetProperty("connectionId").GetString());
    }


    [Fact]
    public async Task A_waiting_session_stays_a_presence_member_until_it_ends_and_its_lifetime_runs_on()
    {
        await using var host = await GatewayHost.StartAsync(Settings(
            ("Gateway:Connections:MaxLifetime", "00:00:20"),
            ("Gateway:Topics:Presence:0:Pattern", "room.*")));
        var recorder = host.Services.GetRequiredService<EventRecorder>();
        var member = await OpenAsync(host);
        await member.Client.SendTextAsync("""{"action":"subscribe","channel":"room.1"}""");
        await member.Client.ReadFrameAsync();
        async Task<int> MembersAsync() => (await ManagementCalls.GetJsonAsync(host, "/@topics/room.1")).GetProperty("members").GetArrayLength();
        Assert.Equal(1, await MembersAsync());

        // Dropped 15 s into its 20 s lifetime: still a member while it waits, until the lifetime ends it (before the window would).
        host.Advance(TimeSpan.FromSeconds(15));
        await member.Client.DisposeAsync();
        await Wait.UntilAsync(() => host.Connection(member.Id).IsParked, "the session waits, parked");
        host.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, await MembersAsync());
        Assert.DoesNotContain(recorder.All, e => e.ConnectionId == member.Id);
        host.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1001, (await recorder.DisconnectOf(member.Id)).StatusCode);
        Assert.Equal(0, await MembersAsync());
    }

}
