namespace Gateway.Configuration;

/// <summary>The admin dashboard: a page over JSON endpoints, behind the management credentials.</summary>
public sealed class DashboardOptions
{
    /// <summary>Serve <c>/admin</c> and <c>/admin/api/*</c> on the management listener.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often connection counts and message rates are sampled for the chart (and reported to other nodes).</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many samples the chart keeps: 120 at 5 s is ten minutes.</summary>
    public int Samples { get; set; } = 120;
}
