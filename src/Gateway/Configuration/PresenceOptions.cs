using Microsoft.Extensions.Configuration;

namespace Gateway.Configuration;

/// <summary>
/// Presence: the topics whose subscribers see who else is there (<c>Topics:Presence:0:Pattern</c>, …) and the claims a
/// member's <c>info</c> shows (<c>Topics:Presence:InfoClaims</c>). The rules sit at the numbered keys of the section,
/// beside <c>InfoClaims</c>, and are read by <see cref="BindRules"/> (the binder would take every key of a list for an entry).
/// </summary>
public sealed class PresenceOptions
{
    /// <summary>The topics with presence; none by default.</summary>
    public IList<PresenceRuleOptions> Rules { get; } = [];

    /// <summary>The claims (of the connection's token) a member's <c>info</c> shows, unless <c>$connect</c> returned an info; none by default.</summary>
    public IList<string> InfoClaims { get; } = [];

    /// <summary>Values of the numbered entries that did not convert (reported with every other configuration error).</summary>
    public IList<string> BindErrors { get; } = [];

    /// <summary>Reads the numbered entries of <paramref name="section"/> (<c>Topics:Presence</c>) into <see cref="Rules"/>, in order.</summary>
    public void BindRules(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        Rules.Clear();
        BindErrors.Clear();
        foreach (var child in section.GetChildren().Where(c => int.TryParse(c.Key, out _)).OrderBy(c => int.Parse(c.Key, System.Globalization.CultureInfo.InvariantCulture)))
        {
            var rule = new PresenceRuleOptions();
            foreach (var error in ConfigurationValues.Bind(child, rule))
            {
                BindErrors.Add(error);
            }

            Rules.Add(rule);
        }
    }
}
