using Microsoft.Extensions.Options;

namespace Gateway.Configuration;

/// <summary>Fails validation with the values that did not convert, so that they are listed with every other error.</summary>
/// <typeparam name="TOptions">The options type.</typeparam>
internal sealed class ConfigurationValueValidator<TOptions>(ConfigurationValueErrors<TOptions> found) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options) =>
        found.Errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found.Errors);
}
