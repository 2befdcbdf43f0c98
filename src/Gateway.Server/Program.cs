using Gateway.Server;

// `Gateway.Server healthcheck <url>`: the container's health check, without curl in the image.
if (args is ["healthcheck", var probeUrl])
{
    return await HealthCheck.RunAsync(new Uri(probeUrl));
}

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddSettingsFile();
builder.Configuration.AddDefaultRoutes();
builder.Services.AddGatewayLogging(builder.Configuration);
builder.Services.AddGatewayTelemetry(builder.Configuration);
builder.WebHost.UseGatewayListeners(builder.Services);

// Kestrel:Limits:* (header and request timeouts, sizes) from configuration, as operators expect of a Kestrel server.
builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(builder.Configuration.GetSection("Kestrel"));
var gateway = builder.Services.AddWebSocketGateway(builder.Configuration.GetSection("Gateway"));

// N nodes behind a load balancer share one Redis; without it, one node runs alone on the in-memory backplane.
if (!string.IsNullOrWhiteSpace(builder.Configuration["Gateway:Redis:Configuration"]))
{
    gateway.AddRedisBackplane(builder.Configuration.GetSection("Gateway:Redis"));
}

var app = builder.Build();
app.MapWebSocketGateway();
app.MapGatewayMetrics();
app.LogListenerAddresses();
await app.RunAsync();
return 0;

/// <summary>The gateway executable (public for functional tests).</summary>
public partial class Program;
