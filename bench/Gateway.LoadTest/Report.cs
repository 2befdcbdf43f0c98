using System.Globalization;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>Markdown tables of the runs and the gateway-to-bare ratios.</summary>
public static class Report
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Row(string mode, RunResult r) => mode == "idle"
        ? string.Create(C, $"| {r.Round} | {r.Target} | {r.Connections} | {r.BytesPerConnection / 1024:F1} KB | {r.ServerCpu.TotalSeconds:F2} s |")
        : mode == "users"
        ? string.Create(C, $"| {r.Round} | {r.Target} | {r.Label} | {r.Operations} | {r.PerSecond:F0} | {r.Latency.PercentileMicros(50):F0} | {r.Latency.PercentileMicros(90):F0} | {r.Latency.PercentileMicros(99):F0} | {r.Lost} |")
        : string.Create(C, $"| {r.Round} | {r.Label ?? r.Target.ToString()} | {r.Connections} | {r.PerSecond:F0} | {r.ServerCpuPercent:F0}% | {r.ServerCpuMicrosPerOperation:F1} | {r.PerServerCpuSecond:F0} | {r.ClientCpuPercent:F0}% | {r.Latency.PercentileMicros(50):F0} | {r.Latency.PercentileMicros(99):F0} | {r.Latency.PercentileMicros(99.9):F0} | {(mode is "push" or "handshake" or "fanout" or "batch" or "presence" ? r.Lost.ToString(C) : "-")} | {(r.BackendCpu > TimeSpan.Zero ? r.BackendCpuMicrosPerOperation.ToString("F1", C) : "-")} |");

    private static string MessagesHeading(Settings settings) => settings.Messages switch
    {
        "chat" => "chat chunks of 20–200 bytes",
        "doc" => "JSON documents of about 4 KB",
        _ => string.Create(C, $"{settings.PayloadBytes}-byte messages"),
    };

    public static string Table(Settings settings, IReadOnlyList<RunResult> results)
    {
        var sb = new StringBuilder();
        var heading = string.Create(C, $"### {settings.Mode}: {settings.Connections} connections")
            + (settings.Mode == "users" ? string.Create(C, $" of {UsersBench.Users} users over three nodes, {settings.Requests} sequential requests per call")
                : settings.Mode == "idle" ? "" : string.Create(C, $", {settings.Duration.TotalSeconds:F0} s windows after {settings.Warmup.TotalSeconds:F0} s warm-up, ") + MessagesHeading(settings))
            + (settings.Mode == "push" ? string.Create(C, $", {settings.Senders} HTTP senders") : "")
            + (settings.Rate > 0 ? string.Create(C, $", paced at {settings.Rate} per second") : "");
        sb.AppendLine(heading);
        sb.AppendLine();
        if (settings.Mode == "users")
        {
            sb.AppendLine("Each call asked through the three nodes in turn, one request at a time, the three calls interleaved; requests/s is a call's requests over the time they took; failed counts non-200 answers and user lookups that missed a connection or a node.");
            sb.AppendLine();
            sb.AppendLine("| round | target | call | requests | requests/s | p50 µs | p90 µs | p99 µs | failed |");
            sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        }
        else if (settings.Mode == "idle")
        {
            sb.AppendLine("| round | target | connections | memory per connection (RSS after full GC) | server CPU while connecting |");
            sb.AppendLine("| --- | --- | --- | --- | --- |");
        }
        else
        {
            var op = settings.Mode switch { "echo" => "round trips", "handshake" => "handshakes", "fanout" => "deliveries", "presence" => "operations", _ => "pushes delivered" };
            if (settings.Mode == "presence")
            {
                sb.AppendLine("An operation is one publish, or one join or leave of a member, counted once every member got its frame; the p50/p99/p99.9 columns are the time from sending it to the last delivery.");
                sb.AppendLine();
            }

            if (settings.Mode == "batch")
            {
                sb.AppendLine("The p50/p99/p99.9 columns are the time of one whole set of 1,000 pushes, sent and all arrived; lost counts failed single calls.");
                sb.AppendLine();
            }

            sb.AppendLine(C, $"| round | target | connections | {op}/s | server CPU | server CPU µs/op | {op} per server CPU s | client CPU | p50 µs | p99 µs | p99.9 µs | lost | backend CPU µs/op |");
            sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        }

        foreach (var r in results)
        {
            sb.AppendLine(Row(settings.Mode, r));
        }

        foreach (var target in results.Where(r => !double.IsNaN(r.WireBytesReadPerOperation)).Select(r => r.Target).Distinct())
        {
            var runs = results.Where(r => r.Target == target).ToList();
            sb.AppendLine();
            sb.Append(C, $"Bytes on the wire per round trip, {target} (mean of rounds): {runs.Average(r => r.WireBytesReadPerOperation):F1} from the server, {runs.Average(r => r.WireBytesWrittenPerOperation):F1} to it; server CPU {runs.Average(r => r.ServerCpuMicrosPerOperation):F1} µs.");
        }

        if (results.Any(r => !double.IsNaN(r.WireBytesReadPerOperation)))
        {
            sb.AppendLine();
        }

        foreach (var r in results.Where(r => r.Runtime is not null))
        {
            sb.AppendLine();
            sb.Append(C, $"Runtime, round {r.Round}, {r.Target}: {r.Runtime}.");
        }

        if (results.Any(r => r.Runtime is not null))
        {
            sb.AppendLine();
        }

        foreach (var engine in results.Where(r => settings.Mode == "users").Select(r => r.Target).Distinct())
        {
            List<RunResult> Of(string call) => [.. results.Where(r => r.Target == engine && r.Label == call)];
            var local = Of(UsersBench.Calls[0]);
            var other = Of(UsersBench.Calls[1]);
            var user = Of(UsersBench.Calls[2]);
            double P(List<RunResult> runs, double p) => runs.Average(r => r.Latency.PercentileMicros(p));
            sb.AppendLine();
            sb.AppendLine(C, $"{engine}: GET /@users/{{id}} p50 {P(user, 50):F0} µs, p90 {P(user, 90):F0} µs, p99 {P(user, 99):F0} µs, {user.Average(r => r.PerSecond):F0} requests/s; **{P(user, 50) / P(other, 50):F2}×** the p50 of GET /@connections/{{id}} of another node's connection ({P(other, 50):F0} µs) and {P(user, 50) / P(local, 50):F2}× that of a call no other node answers ({P(local, 50):F0} µs).");
            var window = user.Sum(r => r.WindowSeconds);
            sb.AppendLine(C, $"Over the windows ({window:F1} s, {3 * user.Sum(r => r.Operations)} requests), the three gateway processes and the engine used {user.Sum(r => r.ServerCpu.TotalSeconds) / window * 100:F0}% of a core (the engine {user.Sum(r => r.BackendCpu.TotalSeconds) / window * 100:F0}%), the load client {user.Sum(r => r.ClientCpu.TotalSeconds) / window * 100:F0}%.");
        }

        var bare = results.Where(r => r.Target == Target.Bare).ToList();
        var gateway = results.Where(r => r.Target == Target.Gateway).ToList();
        var viaHttp = results.Where(r => r.Target == Target.GatewayHttp).ToList();
        string RedisCommands(List<RunResult> runs, string per) => string.Create(C, $"{runs.Average(r => r.RedisCommandsPerOperation):F2} Redis commands per {per}");
        string NatsMessages(List<RunResult> runs, string per) => string.Create(C, $"{runs.Average(r => r.NatsMessagesInPerOperation):F2} messages into nats-server and {runs.Average(r => r.NatsMessagesOutPerOperation):F2} out of it per {per}");
        var redisRemote = TwoNodes(sb, results, "Redis", "redis-server", Target.RedisLocal, Target.RedisRemote, RedisCommands);
        var natsRemote = TwoNodes(sb, results, "NATS", "nats-server", Target.NatsLocal, Target.NatsRemote, NatsMessages);
        if (redisRemote.Count > 0 && natsRemote.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(C, $"A push to another node, NATS vs Redis (CPU of both gateway processes and the engine): NATS {natsRemote.Average(r => r.ServerCpuMicrosPerOperation):F1} µs per push (nats-server {natsRemote.Average(r => r.BackendCpuMicrosPerOperation):F1} µs), Redis {redisRemote.Average(r => r.ServerCpuMicrosPerOperation):F1} µs (redis-server {redisRemote.Average(r => r.BackendCpuMicrosPerOperation):F1} µs): **{natsRemote.Average(r => r.ServerCpuMicrosPerOperation) / redisRemote.Average(r => r.ServerCpuMicrosPerOperation):F2}×** the CPU through Redis.");
        }

        var single = results.Where(r => r.Target == Target.LocalFanout).ToList();
        var spread = results.Where(r => r.Target == Target.RedisFanout).ToList();
        if (single.Count > 0 && spread.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(C, $"Topic fan-out: one node {single.Average(r => r.PerSecond):F0} deliveries/s at {single.Average(r => r.ServerCpuMicrosPerOperation):F1} µs of CPU each; three nodes through Redis {spread.Average(r => r.PerSecond):F0} deliveries/s at {spread.Average(r => r.ServerCpuMicrosPerOperation):F1} µs each (all gateway processes and Redis; Redis {spread.Average(r => r.BackendCpuMicrosPerOperation):F2} µs), {RedisCommands(spread, "publish")}.");
        }

        var spreadNats = results.Where(r => r.Target == Target.NatsFanout).ToList();
        if (single.Count > 0 && spreadNats.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(C, $"Topic fan-out: one node {single.Average(r => r.PerSecond):F0} deliveries/s at {single.Average(r => r.ServerCpuMicrosPerOperation):F1} µs of CPU each; three nodes through NATS {spreadNats.Average(r => r.PerSecond):F0} deliveries/s at {spreadNats.Average(r => r.ServerCpuMicrosPerOperation):F1} µs each (all gateway processes and nats-server; nats-server {spreadNats.Average(r => r.BackendCpuMicrosPerOperation):F2} µs), {NatsMessages(spreadNats, "publish")}.");
        }

        if (single.Count > 0 && bare.Count > 0 && settings.Mode == "fanout")
        {
            sb.AppendLine();
            sb.AppendLine(C, $"One topic to {single.Average(r => r.Connections):F0} subscribers on one node: {single.Average(r => r.PerSecond):F0} deliveries/s vs the bare echo's {bare.Average(r => r.PerSecond):F0} messages/s (round trips, {bare.Average(r => r.Connections):F0} connections): **{single.Average(r => r.PerSecond) / bare.Average(r => r.PerSecond):P0}**; server CPU per delivery {single.Average(r => r.ServerCpuMicrosPerOperation):F2} µs vs {bare.Average(r => r.ServerCpuMicrosPerOperation):F2} µs per echo.");
        }

        var authed = results.Where(r => r.Target == Target.GatewayAuth).ToList();
        if (bare.Count > 0 && authed.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(C, $"With management credentials (an API key on every push): {authed.Average(r => r.PerSecond):F0} pushes delivered/s, **{authed.Average(r => r.PerSecond) / bare.Average(r => r.PerSecond):P0}** of the bare push app's ({authed.Average(r => r.PerServerCpuSecond) / bare.Average(r => r.PerServerCpuSecond):P0} per server CPU second), p99 {authed.Average(r => r.Latency.PercentileMicros(99)) / bare.Average(r => r.Latency.PercentileMicros(99)):F2}×, lost {authed.Sum(r => r.Lost)}.");
        }

        foreach (var jwt in (Target[])[Target.GatewayJwt, Target.GatewayJwtRsa])
        {
            var withJwt = results.Where(r => r.Target == jwt).ToList();
            if (gateway.Count > 0 && withJwt.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine(C, $"{jwt}: {withJwt.Average(r => r.PerSecond):F0} handshakes/s and {withJwt.Average(r => r.ServerCpuMicrosPerOperation):F0} µs of server CPU each, vs {gateway.Average(r => r.PerSecond):F0}/s and {gateway.Average(r => r.ServerCpuMicrosPerOperation):F0} µs without authentication: **{withJwt.Average(r => r.PerServerCpuSecond) / gateway.Average(r => r.PerServerCpuSecond):P0}** of the handshakes per server CPU second.");
                // The ratio within each round (targets alternate, so a busy moment of the machine weighs on both), then their median.
                var ratios = withJwt.Select(r => (r.Round, Ratio: gateway.FirstOrDefault(g => g.Round == r.Round) is { } g ? r.PerServerCpuSecond / g.PerServerCpuSecond : double.NaN))
                    .Where(x => !double.IsNaN(x.Ratio)).OrderBy(x => x.Round).ToList();
                if (ratios.Count > 0)
                {
                    var sorted = ratios.Select(x => x.Ratio).Order().ToList();
                    var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
                    sb.AppendLine(C, $"{jwt}/gateway per server CPU second, round by round: {string.Join(", ", ratios.Select(x => x.Ratio.ToString("F3", C)))}; median **{median:F3}**, spread {sorted[0]:F3}–{sorted[^1]:F3}. Tokens presented {withJwt.Sum(r => r.TokensPresented)}, of which repeated {withJwt.Sum(r => r.TokensRepeated)}.");
                }
            }
        }

        if (bare.Count > 0 && viaHttp.Count > 0)
        {
            sb.AppendLine();
            var line = string.Create(C, $"Through the http integration: {viaHttp.Average(r => r.ServerCpuMicrosPerOperation):F1} µs of gateway CPU per message (+{viaHttp.Average(r => r.BackendCpuMicrosPerOperation):F1} µs in the backend) vs {bare.Average(r => r.ServerCpuMicrosPerOperation):F1} µs for the bare echo")
                + (gateway.Count > 0 ? string.Create(C, $" and {gateway.Average(r => r.ServerCpuMicrosPerOperation):F1} µs through the C# echo handler.") : ".");
            sb.AppendLine(line);
        }

        var http2 = results.Where(r => r.Target == Target.GatewayH2).ToList();
        if (gateway.Count > 0 && http2.Count > 0)
        {
            sb.AppendLine();
            if (settings.Mode == "idle")
            {
                sb.AppendLine(C, $"Memory per idle WebSocket over HTTP/2 (up to 100 streams per TCP connection): {http2.Average(r => r.BytesPerConnection) / 1024:F1} KB vs {gateway.Average(r => r.BytesPerConnection) / 1024:F1} KB over HTTP/1.1 (one socket per connection) = **{http2.Average(r => r.BytesPerConnection) / gateway.Average(r => r.BytesPerConnection):F2}×**.");
            }
            else
            {
                sb.AppendLine(C, $"Over HTTP/2: {http2.Average(r => r.ServerCpuMicrosPerOperation):F1} µs of server CPU per operation vs {gateway.Average(r => r.ServerCpuMicrosPerOperation):F1} µs over HTTP/1.1 = **{http2.Average(r => r.ServerCpuMicrosPerOperation) / gateway.Average(r => r.ServerCpuMicrosPerOperation):F2}×**; throughput {http2.Average(r => r.PerSecond) / gateway.Average(r => r.PerSecond):P0}; p99 {http2.Average(r => r.Latency.PercentileMicros(99)) / gateway.Average(r => r.Latency.PercentileMicros(99)):F2}×.");
            }
        }

        if (bare.Count > 0 && gateway.Count > 0)
        {
            sb.AppendLine();
            if (settings.Mode == "idle")
            {
                var ratio = gateway.Average(r => r.BytesPerConnection) / bare.Average(r => r.BytesPerConnection);
                sb.AppendLine(C, $"Gateway memory per idle connection: {gateway.Average(r => r.BytesPerConnection) / 1024:F1} KB vs bare {bare.Average(r => r.BytesPerConnection) / 1024:F1} KB = **{ratio:F2}×** the bare echo's.");
            }
            else
            {
                var efficiency = gateway.Average(r => r.PerServerCpuSecond) / bare.Average(r => r.PerServerCpuSecond);
                var p99 = gateway.Average(r => r.Latency.PercentileMicros(99)) / bare.Average(r => r.Latency.PercentileMicros(99));
                sb.AppendLine(C, $"Gateway efficiency (operations per server CPU second, mean of rounds): **{efficiency:P0}** of the bare app's; throughput {gateway.Average(r => r.PerSecond) / bare.Average(r => r.PerSecond):P0}; p99 {p99:F2}×.");
            }
        }

        var node = results.Where(r => r.Target == Target.NodeWs).ToList();
        if (node.Count > 0 && gateway.Count > 0)
        {
            sb.AppendLine();
            if (settings.Mode == "idle")
            {
                sb.AppendLine(C, $"Gateway memory per idle connection: {gateway.Average(r => r.BytesPerConnection) / 1024:F1} KB vs the Node ws echo's {node.Average(r => r.BytesPerConnection) / 1024:F1} KB = **{gateway.Average(r => r.BytesPerConnection) / node.Average(r => r.BytesPerConnection):F2}×**.");
            }
            else
            {
                // Per round: each gateway round against the Node round beside it, so that the machine's drift cancels.
                var ratios = gateway.Zip(node, (g, n) => g.ServerCpuMicrosPerOperation / n.ServerCpuMicrosPerOperation).Order().ToList();
                sb.AppendLine(C, $"Gateway server CPU per operation vs the bare Node ws echo's: {gateway.Average(r => r.ServerCpuMicrosPerOperation):F1} µs vs {node.Average(r => r.ServerCpuMicrosPerOperation):F1} µs; median of rounds **{ratios[ratios.Count / 2]:F2}×** (rounds {string.Join(", ", ratios.Select(x => x.ToString("F2", C)))}); p99 {gateway.Average(r => r.Latency.PercentileMicros(99)) / node.Average(r => r.Latency.PercentileMicros(99)):F2}×.");
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// The same-node vs another-node line of one engine (and where a cross-node push's CPU goes), when both of its
    /// targets ran; the cross-node runs, empty when the line was not written.
    /// </summary>
    private static List<RunResult> TwoNodes(StringBuilder sb, IReadOnlyList<RunResult> results, string engine, string process, Target local, Target remote, Func<List<RunResult>, string, string> counts)
    {
        var same = results.Where(r => r.Target == local).ToList();
        var other = results.Where(r => r.Target == remote).ToList();
        if (same.Count == 0 || other.Count == 0)
        {
            return [];
        }

        sb.AppendLine();
        sb.AppendLine(C, $"Push through {engine} with two nodes (CPU of both gateway processes and {process}): same node {same.Average(r => r.ServerCpuMicrosPerOperation):F1} µs per push, p50 {same.Average(r => r.Latency.PercentileMicros(50)):F0} µs, p99 {same.Average(r => r.Latency.PercentileMicros(99)):F0} µs, {counts(same, "push")}; another node {other.Average(r => r.ServerCpuMicrosPerOperation):F1} µs, p50 {other.Average(r => r.Latency.PercentileMicros(50)):F0} µs, p99 {other.Average(r => r.Latency.PercentileMicros(99)):F0} µs, {counts(other, "push")}: **{other.Average(r => r.ServerCpuMicrosPerOperation) / same.Average(r => r.ServerCpuMicrosPerOperation):F2}×** the CPU of a same-node push.");
        if (other.All(r => r.NodeCpu.Length >= 2))
        {
            double Per(RunResult r, TimeSpan cpu) => cpu.TotalMilliseconds * 1000 / r.Operations;
            sb.AppendLine(C, $"Where a cross-node push's CPU goes: the node that takes the HTTP call {other.Average(r => Per(r, r.NodeCpu[1])):F1} µs, the node that holds the connection {other.Average(r => Per(r, r.NodeCpu[0])):F1} µs, {process} {other.Average(r => r.BackendCpuMicrosPerOperation):F1} µs (same node: {same.Average(r => Per(r, r.NodeCpu[0])):F1} µs on the one node).");
        }

        return other;
    }
}
