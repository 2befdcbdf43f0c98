using Gateway.Configuration;
using Microsoft.Extensions.Options;
using Gateway.Connections;

namespace Gateway.Routing;

/// <summary>
/// What integration events say about this gateway: <c>domainName</c> and <c>stage</c> point at the management API, so
/// that handler code written for AWS (<c>endpoint: domainName + '/' + stage</c>) reaches it; and the <c>apiId</c>.
/// </summary>
public sealed class GatewayIdentity(IOptions<GatewayOptions> options, GatewayListeners listeners)
{
    private readonly GatewayOptions _options = options.Value;
    private string? _domainName;

    /// <summary>Host and port of the management API's public URL, without the scheme.</summary>
    public string DomainName => _domainName ??= Resolve();

    /// <summary>The stage.</summary>
    public string Stage => _options.Stage;

    /// <summary>The API id.</summary>
    public string ApiId => _options.ApiId;

    private string Resolve()
    {
        if (Uri.TryCreate(_options.Management.PublicUrl, UriKind.Absolute, out var uri))
        {
            return uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        }

        var management = listeners.EndPoints(GatewayListenerKind.Management).FirstOrDefault();
        return management is null ? "localhost" : $"localhost:{management.Port}";
    }
}
