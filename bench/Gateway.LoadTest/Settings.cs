using System.Globalization;

namespace Gateway.LoadTest;

/// <summary>The command line.</summary>
public sealed record Settings(string Mode, int Connections, TimeSpan Duration, TimeSpan Warmup, int Rounds, int Senders, int PayloadBytes, string Artifacts, Target[] Targets, IReadOnlyDictionary<string, string> GatewayEnvironment, int Sources, int Rate, int Requests)
{
    /// <summary>Clients offer permessage-deflate (<c>--deflate</c>); whether they get it is the target's choice.</summary>
    public bool Deflate { get; init; }

    /// <summary>What the echo's messages are (<c>--messages</c>): <c>pad</c> (the default), <c>chat</c> (JSON chunks of 20–200 bytes) or <c>doc</c> (4 KB JSON documents).</summary>
    public string Messages { get; init; } = "pad";

    public static Settings Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("echo" or "push" or "batch" or "users" or "presence" or "idle" or "handshake" or "fanout" or "soak" or "resume" or "cluster"))
        {
            throw new ArgumentException("usage: Gateway.LoadTest echo|push|batch|users|presence|idle|handshake|fanout|soak|resume|cluster [--connections N] [--duration S] [--warmup S] [--rounds R] [--senders K] [--payload BYTES] [--targets bare,gateway] [--gateway-env K=V;K2=V2] [--sources N] [--rate PUSHES_PER_S] [--requests N] [--deflate] [--messages pad|chat|doc] [--artifacts DIR]");
        }

        var mode = args[0];
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var targets = Get("targets", mode switch { "batch" or "presence" => "gateway", "users" => "redis3,nats3", "cluster" => "redis6,nats6", _ => "bare,gateway" }).Split(',').Select(t => Enum.Parse<Target>(t, ignoreCase: true)).ToArray();
        return new Settings(
            mode,
            Int("connections", mode switch { "idle" => 10_000, "handshake" => 16, "soak" => 200, "users" => 1000, "presence" => 10_000, "cluster" => 100_000, _ => 100 }),
            TimeSpan.FromSeconds(Int("duration", mode == "soak" ? 600 : 10)),
            TimeSpan.FromSeconds(Int("warmup", mode == "idle" ? 3 : 2)),
            Int("rounds", mode == "cluster" ? 3 : 2),
            Int("senders", 16),
            Int("payload", 64),
            Path.GetFullPath(Get("artifacts", Path.Combine(AppContext.BaseDirectory, ".."))),
            targets,
            Get("gateway-env", "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(pair => pair.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : ""),
            Int("sources", mode == "cluster" ? 12 : 1),
            Int("rate", 0),
            Int("requests", 2000))
        {
            Deflate = args.Contains("--deflate"),
            Messages = Get("messages", "pad"),
        };
    }

    /// <summary>The bare app that is this mode's baseline.</summary>
    public string BareApp => Mode == "push" ? "BarePush" : "BareEcho";
}
