using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Gateway.Benchmarks -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Gateway.Benchmarks.TopicMatchBenchmarks).Assembly).Run(args);
