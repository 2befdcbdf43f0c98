namespace Gateway.Server;

/// <summary>The container health check: GET a probe URL, exit 0 on 2xx and 1 otherwise.</summary>
internal static class HealthCheck
{
    public static async Task<int> RunAsync(Uri url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(url);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return 1;
        }
    }
}
