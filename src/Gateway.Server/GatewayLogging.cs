using Serilog;
using Serilog.Formatting.Compact;

namespace Gateway.Server;

/// <summary>
/// Serilog as the logging provider: readable console by default, compact JSON with <c>Gateway:LogFormat=json</c>;
/// secrets are masked in every event (<see cref="SecretRedaction"/>).
/// </summary>
internal static class GatewayLogging
{
    public static IServiceCollection AddGatewayLogging(this IServiceCollection services, IConfiguration configuration)
    {
        var json = string.Equals(configuration["Gateway:LogFormat"], "json", StringComparison.OrdinalIgnoreCase);
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
