using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>redis-server on a free loopback port, without persistence.</summary>
public sealed class RedisEngine : EngineProcess
{
    private readonly int _port;

    private RedisEngine(int port)
        : base("redis-server", ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]) => _port = port;

    public override (string Name, string Value) GatewaySetting => ("Gateway__Redis__Configuration", $"127.0.0.1:{_port}");

    public static RedisEngine Start() => new(ServerUnderTest.FreePort());

    /// <summary>Commands Redis has run so far (all kinds but INFO), from INFO commandstats.</summary>
    public override async Task<EngineCounters> CountersAsync()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("INFO commandstats\r\n"u8.ToArray());
        // A bulk string: "$<length>\r\n" then that many bytes.
        var received = new List<byte>();
        var buffer = new byte[65536];
        var expected = int.MaxValue;
        while (received.Count < expected)
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }

            received.AddRange(buffer.AsSpan(0, read));
            var head = received.IndexOf((byte)'\n');
            if (expected == int.MaxValue && head > 0)
            {
                expected = head + 1 + int.Parse(Encoding.ASCII.GetString([.. received.GetRange(1, head - 2)]), CultureInfo.InvariantCulture);
            }
        }

        var text = new StringBuilder(Encoding.ASCII.GetString([.. received]));
        long total = 0;
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text.ToString(), @"cmdstat_(\w+):calls=(\d+)"))
        {
            if (m.Groups[1].Value != "info")
            {
                total += long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        return new EngineCounters(total, null, null);
    }
}
