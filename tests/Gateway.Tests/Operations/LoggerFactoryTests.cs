using System.Collections.Concurrent;
using System.Diagnostics;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Operations;

/// <summary>
/// The server's loggers are made once per category: ASP.NET Core's results ask the factory for one on every request,
/// and Serilog's own factory would build a new logger, with its caches, each time. ASP.NET Core's per-request
/// diagnostics (an activity and a log scope for every HTTP request) are made only while their category logs at
/// <c>Information</c>, or while something traces requests; so is Kestrel's log scope for each connection.
/// </summary>
public sealed class LoggerFactoryTests
{
    private const string RequestDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";
    private const string Kestrel = "Microsoft.AspNetCore.Server.Kestrel";

    [Fact]
    public async Task The_server_makes_each_categorys_logger_once()
    {
        await using var host = await GatewayHost.StartAsync();
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        Assert.Same(loggers.CreateLogger("Gateway.Tests.First"), loggers.CreateLogger("Gateway.Tests.First"));
        Assert.NotSame(loggers.CreateLogger("Gateway.Tests.First"), loggers.CreateLogger("Gateway.Tests.Second"));
    }

    /// <summary>
    /// At the default levels a management call gets no activity (and no scope): the logger of the request lines says it
    /// is off. With those lines on (<paramref name="requestLines"/>), the call has its activity as ASP.NET Core makes it.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("Information")]
    public async Task A_management_call_has_an_activity_only_while_request_logging_is_on(string? requestLines)
    {
        var seen = new RequestsSeen();
        var settings = new Dictionary<string, string?>();
        if (requestLines is not null)
        {
            settings["Serilog:MinimumLevel:Override:" + RequestDiagnostics] = requestLines;
        }

        await using var host = await GatewayHost.StartAsync(settings, gateway: g => g.Services.AddSingleton<IStartupFilter>(seen));
        var on = requestLines is not null;
        Assert.Equal(on, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(RequestDiagnostics).IsEnabled(LogLevel.Critical));

        var request = await seen.CallAsync(host);
        Assert.Equal(on, request.HadActivity);
        Assert.Equal(on, request.HadActivityFeature);
    }

    [Fact]
    public async Task A_tracer_listening_to_requests_still_gets_an_activity_for_each_call()
    {
        var seen = new RequestsSeen();
        var stopped = new ConcurrentQueue<string>();
        using var tracer = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => stopped.Enqueue(activity.OperationName),
        };
        ActivitySource.AddActivityListener(tracer);
        await using var host = await GatewayHost.StartAsync(gateway: g => g.Services.AddSingleton<IStartupFilter>(seen));

        var request = await seen.CallAsync(host);
        Assert.True(request.HadActivity);
        Assert.Contains("Microsoft.AspNetCore.Hosting.HttpRequestIn", stopped);
    }

    [Fact]
    public async Task Kestrel_keeps_its_warnings_but_opens_no_scope_per_connection_while_its_information_is_off()
    {
        await using var host = await GatewayHost.StartAsync();
        var kestrel = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Kestrel);
        Assert.True(kestrel.IsEnabled(LogLevel.Warning));
        Assert.True(kestrel.IsEnabled(LogLevel.Critical));
        Assert.Null(kestrel.BeginScope(new Dictionary<string, object> { ["ConnectionId"] = "0HN0000000000" }));

        await using var chatty = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:" + Kestrel] = "Information" });
        using var scope = chatty.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Kestrel).BeginScope(new Dictionary<string, object> { ["ConnectionId"] = "0HN0000000000" });
        Assert.NotNull(scope);

        // Clients still connect and are answered on the quiet host.
        await using var client = await host.ConnectAsync();
        Assert.Equal(20, client.Id.Length);
    }

    /// <summary>What the pipeline saw of one request, recorded by a middleware ahead of the gateway's own.</summary>
    private sealed record Seen(string Path, bool HadActivity, bool HadActivityFeature);

    private sealed class RequestsSeen : IStartupFilter
    {
        private readonly ConcurrentQueue<Seen> _seen = new();

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, then) =>
            {
                _seen.Enqueue(new Seen(context.Request.Path, Activity.Current is not null, context.Features.Get<IHttpActivityFeature>() is not null));
                return then(context);
            });
            next(app);
        };

        /// <summary>Makes one management call (a push to a connection that does not exist) and returns what the pipeline saw of it.</summary>
        public async Task<Seen> CallAsync(GatewayHost host)
        {
            using var http = new HttpClient();
            var path = "/@connections/" + host.Services.GetRequiredService<Gateway.Connections.GatewayNode>().MintConnectionId();
            using var answer = await http.PostAsync($"http://127.0.0.1:{host.ManagementEndPoint.Port}{path}", new StringContent("hi"));
            Assert.Equal(System.Net.HttpStatusCode.Gone, answer.StatusCode);
            return Assert.Single(_seen, s => s.Path == path);
        }
    }
}
