using System.Diagnostics;

namespace Gateway.LoadTest;

/// <summary>A measurement window: wall time, and the CPU the server and this client used in it.</summary>
public sealed record Window(double Seconds, TimeSpan ServerCpu, TimeSpan ClientCpu, TimeSpan BackendCpu, TimeSpan[] NodeCpu)
{
    public static async Task<Window> MeasureAsync(ServerUnderTest server, TimeSpan duration, Action begin, Action end)
    {
        using var self = Process.GetCurrentProcess();
        var server0 = server.CpuTime();
        var backend0 = server.BackendCpuTime();
        var nodes0 = server.NodeCpuTimes();
        self.Refresh();
        var client0 = self.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        begin();
        await Task.Delay(duration);
        end();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var server1 = server.CpuTime();
        var backend1 = server.BackendCpuTime();
        var nodes1 = server.NodeCpuTimes();
        self.Refresh();
        return new Window(seconds, server1 - server0, self.TotalProcessorTime - client0, backend1 - backend0, [.. nodes1.Zip(nodes0, (b, a) => b - a)]);
    }
}
