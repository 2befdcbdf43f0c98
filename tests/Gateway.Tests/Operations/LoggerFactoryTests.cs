using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Operations;

/// <summary>
/// The server's loggers are made once per category: ASP.NET Core's results ask the factory for one on every request,
/// and Serilog's own factory would build a new logger, with its caches, each time.
/// </summary>
public sealed class LoggerFactoryTests
{
    [Fact]
    public async Task The_server_makes_each_categorys_logger_once()
    {
        await using var host = await GatewayHost.StartAsync();
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        Assert.Same(loggers.CreateLogger("Gateway.Tests.First"), loggers.CreateLogger("Gateway.Tests.First"));
        Assert.NotSame(loggers.CreateLogger("Gateway.Tests.First"), loggers.CreateLogger("Gateway.Tests.Second"));
    }
}
