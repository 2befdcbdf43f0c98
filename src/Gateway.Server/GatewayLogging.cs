using Serilog;
using Serilog.Formatting.Compact;

namespace Gateway.Server;

/// <summary>
/// Serilog as the logging provider: compact JSON with <c>Gateway:LogFormat=json</c>, a readable console with
/// <c>text</c>; unset, JSON inside a container (<c>DOTNET_RUNNING_IN_CONTAINER</c>, which .NET's images set) and text
/// elsewhere. Levels come from <c>Serilog:MinimumLevel</c>. Secrets are masked in every event (<see cref="SecretRedaction"/>).
/// </summary>
internal static class GatewayLogging
{
    public static IServiceCollection AddGatewayLogging(this IServiceCollection services, IConfiguration configuration)
    {
        var format = configuration["Gateway:LogFormat"];
        if (!string.IsNullOrWhiteSpace(format) && !format.Equals("json", StringComparison.OrdinalIgnoreCase) && !format.Equals("text", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Gateway:LogFormat must be 'json' or 'text', not '{format}'.");
        }

        var json = string.IsNullOrWhiteSpace(format)
            ? string.Equals(configuration["DOTNET_RUNNING_IN_CONTAINER"], "true", StringComparison.OrdinalIgnoreCase)
            : string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);
        return services.AddSerilog(logger =>
        {
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
        });
    }
}
