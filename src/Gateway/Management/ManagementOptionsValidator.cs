using Gateway.Configuration;

namespace Gateway.Management;

/// <summary>The checks of the management API, its credentials and the dashboard.</summary>
public static class ManagementOptionsValidator
{
    /// <summary>Adds a line to <paramref name="errors"/> for each problem of <paramref name="options"/> this part owns.</summary>
    public static void Validate(GatewayOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        if (options.Management.MaxPayloadBytes < 1)
        {
            errors.Add($"Gateway:Management:MaxPayloadBytes {options.Management.MaxPayloadBytes} must be at least 1.");
        }

        if (!string.IsNullOrEmpty(options.Management.PublicUrl) && !System.Uri.TryCreate(options.Management.PublicUrl, UriKind.Absolute, out _))
        {
            errors.Add($"Gateway:Management:PublicUrl '{options.Management.PublicUrl}' must be an absolute URL such as https://gateway-mgmt:8081.");
        }

        foreach (var credential in options.Management.Credentials)
        {
            if (string.IsNullOrEmpty(credential.AccessKeyId) || string.IsNullOrEmpty(credential.SecretAccessKey))
            {
                errors.Add("Gateway:Management:Credentials: every entry needs an AccessKeyId and a SecretAccessKey.");
            }
        }

        if (options.Management.ApiKeys.Any(string.IsNullOrEmpty))
        {
            errors.Add("Gateway:Management:ApiKeys: an API key may not be empty.");
        }

        if (options.Management.MaxPageSize < 1)
        {
            errors.Add($"Gateway:Management:MaxPageSize {options.Management.MaxPageSize} must be at least 1.");
        }

        if (options.Management.IdempotencyWindow < TimeSpan.FromSeconds(1) || options.Management.IdempotencyWindow > TimeSpan.FromDays(1))
        {
            errors.Add($"Gateway:Management:IdempotencyWindow {options.Management.IdempotencyWindow} must be between 00:00:01 and 1.00:00:00.");
        }

        if (options.Management.MaxBatchItems < 1)
        {
            errors.Add($"Gateway:Management:MaxBatchItems {options.Management.MaxBatchItems} must be at least 1.");
        }

        if (options.Management.MaxBatchBytes < 1)
        {
            errors.Add($"Gateway:Management:MaxBatchBytes {options.Management.MaxBatchBytes} must be at least 1.");
        }

        if (options.Management.Dashboard.SampleInterval < TimeSpan.FromSeconds(1) || options.Management.Dashboard.SampleInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"Gateway:Management:Dashboard:SampleInterval {options.Management.Dashboard.SampleInterval} must be between 00:00:01 and 01:00:00.");
        }

        if (options.Management.Dashboard.Samples is < 2 or > 1440)
        {
            errors.Add($"Gateway:Management:Dashboard:Samples {options.Management.Dashboard.Samples} must be between 2 and 1440.");
        }

        if (string.Equals(options.Stage, "admin", StringComparison.OrdinalIgnoreCase) && options.Management.Dashboard.Enabled)
        {
            errors.Add("Gateway:Stage 'admin' is the dashboard's path; choose another stage or set Gateway:Management:Dashboard:Enabled to false.");
        }

    }
}
