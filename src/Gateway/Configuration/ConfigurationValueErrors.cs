namespace Gateway.Configuration;

/// <summary>The values of <typeparamref name="TOptions"/>'s configuration that did not convert when it was last bound.</summary>
/// <typeparam name="TOptions">The options type.</typeparam>
public sealed class ConfigurationValueErrors<TOptions>
    where TOptions : class
{
    /// <summary>One line per value: its key, the value, and the form expected.</summary>
    public IReadOnlyList<string> Errors { get; internal set; } = [];
}
