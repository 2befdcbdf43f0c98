using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Gateway.LoadTest;

/// <summary>
/// Resumable sessions on two nodes sharing an engine (<c>redislocal</c>: the client comes back to the node that holds
/// its session; <c>redisremote</c>: to the other one, so every resume moves the session). One client drops its socket
/// (an abort: no close frame) and at once (the first retry at 0 ms) opens a new one with its resume token; the time is
/// from the drop to the <c>resumed</c> frame, over <c>--requests</c> resumes (1,000 by default). Then the memory a
/// waiting session holds: <c>--connections</c> clients connect, drop, and wait (server RSS after a full GC, per
/// session, against before they connected), and then 10 pushes of 10 KiB are kept for each (RSS per byte kept).
/// </summary>
public static class ResumeBench
{
    /// <summary>The gateway's settings for this benchmark.</summary>
    public static IReadOnlyDictionary<string, string> Environment() => new Dictionary<string, string>
    {
        ["Gateway__Connections__ResumeWindow"] = "00:05:00",
        ["Gateway__Connections__ResumeSigningKeys__0"] = "bench-resume-signing-key-0123456789abcdef",
    };

    public static async Task<RunResult[]> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var home = server.ClientUris[0];
        var away = server.Target == Target.RedisRemote ? server.ClientUris[1] : home;
        var resumes = settings.Requests > 0 ? settings.Requests : 1000;

        // Warm both nodes' paths first.
        var (socket, _, token) = await OpenAsync(home);
        for (var i = 0; i < 50; i++)
        {
            socket.Abort();
            socket.Dispose();
            (socket, token) = await ResumeAsync(i % 2 == 0 ? away : home, token);
        }

        var times = new List<double>(resumes);
        var cpu0 = server.CpuTime();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < resumes; i++)
        {
            // Every resume goes to the other node for redisremote (a move each time), to the same one for redislocal.
            var target = i % 2 == 0 ? away : home;
            var started = Stopwatch.GetTimestamp();
            socket.Abort();
            socket.Dispose();
            (socket, token) = await ResumeAsync(target, token);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var elapsed = clock.Elapsed;
        var cpu = server.CpuTime() - cpu0;
        socket.Dispose();
        times.Sort();

        // Memory: N sessions waiting on the first node, then 100 KiB kept for each.
        await server.ForceGcAsync();
        var before = server.RssBytes();
        var sessions = new List<(string Id, ClientWebSocket Socket)>();
        for (var i = 0; i < settings.Connections; i++)
        {
            var (s, id, _) = await OpenAsync(home);
            sessions.Add((id, s));
        }

        foreach (var (_, s) in sessions)
        {
            s.Abort();
            s.Dispose();
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        await server.ForceGcAsync();
        var waiting = server.RssBytes();
        using var http = new HttpClient { BaseAddress = server.ManagementUris[0] };
        var payload = new string('x', 10 * 1024);
        const int Pushes = 10;
        await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (session, ct) =>
        {
            for (var k = 0; k < Pushes; k++)
            {
                using var response = await http.PostAsync(new Uri($"@connections/{session.Id}", UriKind.Relative), new StringContent(payload), ct);
                response.EnsureSuccessStatusCode();
            }
        });
        await server.ForceGcAsync();
        var buffered = server.RssBytes();

        var perSession = (waiting - before) / (double)settings.Connections;
        var perByte = (buffered - waiting) / ((double)settings.Connections * Pushes * payload.Length);
        Console.WriteLine($"| {server.Target} | {round} | {resumes} | {Percentile(times, 0.5):F2} | {Percentile(times, 0.99):F2} | {Percentile(times, 1):F2} | {resumes / elapsed.TotalSeconds:F0} | {cpu.TotalMilliseconds * 1000 / resumes:F0} | {settings.Connections} | {perSession / 1024:F2} | {perByte:F2} |");
        return [];
    }

    /// <summary>The header of the rows <see cref="RunAsync"/> prints.</summary>
    public const string Header = "| target | round | resumes | p50 ms | p99 ms | max ms | resumes/s | server CPU µs/resume | waiting sessions | KiB per waiting session | RSS bytes per byte kept |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |";

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static async Task<(ClientWebSocket Socket, string Id, string Token)> OpenAsync(Uri uri)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(uri, CancellationToken.None);
        var first = await ReadAsync(socket);
        return (socket, first.GetProperty("connectionId").GetString()!, first.GetProperty("resumeToken").GetString()!);
    }

    private static async Task<(ClientWebSocket Socket, string Token)> ResumeAsync(Uri uri, string token)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(new Uri(uri, $"?resume={Uri.EscapeDataString(token)}&received=0"), CancellationToken.None);
        var frame = await ReadAsync(socket);
        if (frame.GetProperty("type").GetString() != "resumed")
        {
            throw new InvalidOperationException("not resumed: " + frame);
        }

        return (socket, frame.GetProperty("resumeToken").GetString()!);
    }

    private static async Task<JsonElement> ReadAsync(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
        return JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count)).RootElement.Clone();
    }
}
