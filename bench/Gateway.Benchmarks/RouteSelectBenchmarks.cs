using BenchmarkDotNet.Attributes;
using Gateway.Routing;

namespace Gateway.Benchmarks;

/// <summary>Reading a message's route key (done for every client message): a top-level key and a template.</summary>
[MemoryDiagnoser]
public class RouteSelectBenchmarks
{
    private readonly byte[] _message = """{"action":"sendmessage","data":{"text":"a message of ordinary length for a chat application","room":"lobby"},"id":"42"}"""u8.ToArray();
    private readonly char[] _key = new char[256];
    private RouteSelector _action = null!;
    private RouteSelector _template = null!;

    [GlobalSetup]
    public void Setup()
    {
        _action = Parse("$request.body.action");
        _template = Parse("${request.body.action}/${request.body.data.room}");
    }

    private static RouteSelector Parse(string expression)
    {
        return RouteSelector.TryParse(expression, out var selector, out var error) ? selector! : throw new InvalidOperationException(error);
    }

    [Benchmark(Baseline = true)]
    public int Action() => _action.Evaluate(_message, _key);

    [Benchmark]
    public int Template() => _template.Evaluate(_message, _key);
}
