using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Hosting;

internal sealed class GatewayBuilder(IServiceCollection services) : IGatewayBuilder
{
    public IServiceCollection Services { get; } = services;
}
