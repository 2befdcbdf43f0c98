using Serilog;
using Serilog.Formatting.Compact;

namespace Gateway.Server;

/// <summary>
/// Serilog as the logging provider: compact JSON with <c>Gateway:LogFormat=json</c>, a readable console with
/// <c>text</c>; unset, JSON inside a container (<c>DOTNET_RUNNING_IN_CONTAINER</c>, which .NET's images set) and text
/// elsewhere. Levels come from <c>Serilog:MinimumLevel</c>, over quiet defaults for <c>Microsoft.*</c> set in code. Secrets are masked in every event (<see cref="SecretRedaction"/>).
/// </summary>
internal static class GatewayLogging
{
    public static IServiceCollection AddGatewayLogging(this IServiceCollection services, IConfiguration configuration)
    {
        var format = configuration["Gateway:LogFormat"];
        if (!string.IsNullOrWhiteSpace(format) && !format.Equals("json", StringComparison.OrdinalIgnoreCase) && !format.Equals("text", StringComparison.OrdinalIgnoreCase))
        {
            throw new StartupConfigurationException($"Gateway:LogFormat must be 'json' or 'text', not '{format}'.");
        }

        var json = string.IsNullOrWhiteSpace(format)
            ? string.Equals(configuration["DOTNET_RUNNING_IN_CONTAINER"], "true", StringComparison.OrdinalIgnoreCase)
            : string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);
        services.AddSerilog(logger =>
        {
            // Quiet defaults in code, so that they hold even when no appsettings.json is found: ASP.NET Core's
            // Information events (three per request) would otherwise cost a management push half its throughput.
            // Serilog:MinimumLevel in configuration overrides each of them.
            logger.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", Serilog.Events.LogEventLevel.Information)
                .MinimumLevel.Override("System.Net.Http.HttpClient", Serilog.Events.LogEventLevel.Warning);
            // A start-up failure the server describes in a line of its own (a port in use) is not logged again with its trace.
            logger.Filter.ByExcluding(e => e.Level >= Serilog.Events.LogEventLevel.Error && e.Exception is { } ex && StartupFailure.Describe(ex) is not null);
            logger.ReadFrom.Configuration(configuration).Enrich.FromLogContext().Enrich.With(new SecretRedaction(
                [configuration["Gateway:Auth:Jwt:QueryParameter"] ?? "", configuration["Gateway:Auth:SharedSecret:QueryParameter"] ?? ""]));
            if (json)
            {
                logger.WriteTo.Console(new CompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
        },
        // The host's loggers write to this logger, not to Serilog's static one: two hosts in one process (tests) would
        // otherwise share whichever static logger was made last, with its levels, and lose it when either stops.
        preserveStaticLogger: true);

        // Serilog's factory makes a new logger on every CreateLogger call; ASP.NET Core's results make one per request.
        CachingLoggerFactory.Decorate(services);
        return services;
    }
}
