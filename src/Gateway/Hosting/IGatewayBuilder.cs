using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Hosting;

/// <summary>Returned by <c>AddWebSocketGateway()</c> to add routes, handlers and a backplane.</summary>
public interface IGatewayBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}
