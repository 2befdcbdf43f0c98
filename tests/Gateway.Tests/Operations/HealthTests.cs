using System.Net;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Tests.Operations;

/// <summary>/healthz and /readyz: ASP.NET Core health checks, on both listeners, and their transitions.</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Both_probes_answer_on_both_listeners_and_readiness_turns_false_when_the_node_drains()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient();
        var listeners = new[] { host.ClientEndPoint.Port, host.ManagementEndPoint.Port };
        foreach (var port in listeners)
        {
            Assert.Equal("Healthy", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
            Assert.Equal("Ready", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/readyz")));
            using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri($"http://127.0.0.1:{port}/readyz")));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }

        var json = await ReadJsonAsync(http, $"http://127.0.0.1:{host.ClientEndPoint.Port}/readyz", HttpStatusCode.OK);
        Assert.Equal("Healthy", json.GetProperty("status").GetString());
        Assert.Equal("Healthy", json.GetProperty("checks").GetProperty("draining").GetProperty("status").GetString());
        Assert.Equal("Healthy", json.GetProperty("checks").GetProperty("backplane").GetProperty("status").GetString());

        // Shutting down: not ready (on either listener, with or without scope=local), still alive.
        _ = host.Registry.BeginDrain();
        foreach (var port in listeners)
        {
            foreach (var path in new[] { "/readyz", "/readyz?scope=local" })
            {
                using var ready = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Equal("Draining", await ready.Content.ReadAsStringAsync());
                Assert.Equal("no-store", ready.Headers.CacheControl?.ToString());
            }

            Assert.Equal("Healthy", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
        }

        json = await ReadJsonAsync(http, $"http://127.0.0.1:{host.ManagementEndPoint.Port}/readyz", HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unhealthy", json.GetProperty("status").GetString());
        Assert.Equal("Draining", json.GetProperty("checks").GetProperty("draining").GetProperty("description").GetString());
    }

    [Fact]
    public async Task A_check_the_application_adds_with_the_ready_or_live_tag_counts()
    {
        var state = new Switch();
        await using var host = await GatewayHost.StartAsync(gateway: g => g.Services.AddHealthChecks()
            .AddCheck("database", () => state.DatabaseUp ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Database unreachable"), tags: ["ready"])
            .AddCheck("deadlock", () => state.Deadlocked ? HealthCheckResult.Unhealthy("Worker stuck") : HealthCheckResult.Healthy(), tags: ["live"]));
        using var http = new HttpClient();
        var port = host.ClientEndPoint.Port;
        Assert.Equal("Ready", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/readyz")));

        state.DatabaseUp = false;
        using (var ready = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz?scope=local")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("Database unreachable", await ready.Content.ReadAsStringAsync());
        }

        Assert.Equal("Healthy", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
        state.Deadlocked = true;
        using (var live = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, live.StatusCode);
            Assert.Equal("Worker stuck", await live.Content.ReadAsStringAsync());
        }

        state.DatabaseUp = true;
        Assert.Equal("Ready", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/readyz")));
    }

    [Fact]
    public async Task A_check_that_throws_is_named_but_its_exception_text_never_reaches_the_probe()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.Services.AddHealthChecks()
            .AddCheck("database", HealthCheckResult () => throw new InvalidOperationException("Host=db.internal;Password=hunter2"), tags: ["ready"]));
        using var http = new HttpClient();
        using var ready = await http.GetAsync(new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}/readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("database failed", await ready.Content.ReadAsStringAsync());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}/readyz"));
        request.Headers.Accept.ParseAdd("application/json");
        using var json = await http.SendAsync(request);
        var body = await json.Content.ReadAsStringAsync();
        Assert.Contains("\"database failed\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpClient http, string url, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url));
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private sealed class Switch
    {
        public volatile bool DatabaseUp = true;
        public volatile bool Deadlocked;
    }
}
