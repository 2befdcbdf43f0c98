using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Configuration;

/// <summary>Binding that reports a value of the wrong type as a validation error instead of throwing.</summary>
public static class ValueReportingOptionsBuilderExtensions
{
    /// <summary>
    /// Binds <paramref name="configuration"/> like <c>Bind</c>, except that a value that does not convert to its option's
    /// type (<c>IdleTimeout=banana</c>) fails validation with its key, the value and the expected form, together with
    /// every other validation error, rather than throwing from the binder. A change of <paramref name="configuration"/> is
    /// announced through <see cref="ConfigurationReloadSource{TOptions}"/>, not to <c>IOptionsMonitor</c>, so that the values
    /// validated at start stay until something validates new ones (see <see cref="GatewayConfiguration"/>).
    /// </summary>
    public static OptionsBuilder<TOptions> BindReportingValueErrors<TOptions>(this OptionsBuilder<TOptions> builder, IConfiguration configuration)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.TryAddSingleton<ConfigurationValueErrors<TOptions>>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, ConfigurationValueValidator<TOptions>>());
        builder.Services.AddSingleton(new ConfigurationReloadSource<TOptions>(configuration));
        builder.Configure<ConfigurationValueErrors<TOptions>>((options, found) => found.Errors = ConfigurationValues.Bind(configuration, options));
        return builder;
    }
}
