namespace Gateway.Diagnostics;

/// <summary>Values a client chose, made safe for a log line.</summary>
internal static class LogText
{
    /// <summary>
    /// <paramref name="value"/> cut to <paramref name="max"/> characters, with control characters replaced, so that it
    /// cannot start a forged line in a text log or fill it.
    /// </summary>
    public static string Printable(string value, int max = 100)
    {
        var shown = value.Length > max ? value[..max] + "…" : value;
        return shown.Any(char.IsControl) ? string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c)) : shown;
    }
}
