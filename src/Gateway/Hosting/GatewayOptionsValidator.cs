using Gateway.Auth;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Integrations;
using Gateway.Management;
using Gateway.Routing;
using Gateway.Topics;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

/// <summary>
/// Checks the whole configuration at start (and at each reload) and reports every problem at once: each part checks
/// the options it owns, and this composes them, in the order of the configuration reference.
/// </summary>
public sealed class GatewayOptionsValidator(IEnumerable<NamedHandlerRegistration> namedHandlers, IEnumerable<IntegrationRegistration> integrations) : IValidateOptions<GatewayOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        ConnectionsOptionsValidator.Validate(options, errors);
        RoutingOptionsValidator.Validate(options, namedHandlers.Select(n => n.Name), [.. integrations.Select(i => i.Type).Distinct(StringComparer.Ordinal)], errors);
        ManagementOptionsValidator.Validate(options, errors);
        AuthOptionsValidator.Validate(options, errors);
        TopicsOptionsValidator.Validate(options, errors);
        IntegrationOptionsValidator.Validate(options, errors);
        SseOptionsValidator.Validate(options, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
