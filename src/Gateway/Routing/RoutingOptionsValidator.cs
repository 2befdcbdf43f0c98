using Gateway.Configuration;

namespace Gateway.Routing;

/// <summary>The checks of the stage, the route selection expression and the routes: keys, handlers and integration types.</summary>
public static class RoutingOptionsValidator
{
    /// <summary>Adds a line to <paramref name="errors"/> for each problem; <paramref name="handlers"/> and <paramref name="integrationTypes"/> are the names registered.</summary>
    public static void Validate(GatewayOptions options, IEnumerable<string> handlers, IReadOnlyCollection<string> integrationTypes, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrEmpty(options.Stage) || !options.Stage.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            errors.Add($"Gateway:Stage '{options.Stage}' must be a non-empty path segment of letters, digits, '-' and '_'.");
        }

        if (!RouteSelector.TryParse(options.RouteSelectionExpression, out _, out var selectorError))
        {
            errors.Add($"Gateway:RouteSelectionExpression: {selectorError}.");
        }

        ValidateRoutes(options.Routes, new HashSet<string>(handlers, StringComparer.Ordinal), integrationTypes, errors);
    }

    private static void ValidateRoutes(Dictionary<string, GatewayRouteOptions> routes, HashSet<string> names, IReadOnlyCollection<string> integrationTypes, ICollection<string> errors)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (section, route) in routes)
        {
            var key = RouteKeys.FromConfiguration(section, route.RouteKey);
            var at = $"Gateway:Routes:{section}";
            if (keys.TryGetValue(key, out var other))
            {
                errors.Add($"{at} and Gateway:Routes:{other} both define route key '{key}'.");
            }

            keys[key] = section;
            if (key.StartsWith('$') && key is not (RouteKeys.Connect or RouteKeys.Disconnect or RouteKeys.Default))
            {
                errors.Add($"{at}: '{key}' is not a predefined route key; only $connect, $disconnect and $default may start with '$'.");
            }

            var hasHandler = !string.IsNullOrEmpty(route.Handler);
            if (hasHandler == (route.Integration is not null))
            {
                errors.Add($"{at} must have exactly one of Handler or Integration.");
            }
            else if (hasHandler && !names.Contains(route.Handler!))
            {
                errors.Add($"{at}:Handler '{route.Handler}' is not a known handler (known: {string.Join(", ", names.Order(StringComparer.Ordinal))}).");
            }
            else if (route.Integration is { } integration && !integrationTypes.Contains(integration.Type, StringComparer.Ordinal))
            {
                errors.Add($"{at}:Integration:Type '{integration.Type}' is not a known integration type (known: {string.Join(", ", integrationTypes)}).");
            }

            var status = route.Integration?.StatusCode ?? route.StatusCode;
            if (status is < 100 or > 599)
            {
                errors.Add($"{at}: StatusCode {status} must be an HTTP status between 100 and 599.");
            }
        }
    }
}
