using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Management;

/// <summary>Management calls over the real listener, with headers, as the exclude, idempotency and batch tests make them.</summary>
internal static class ManagementCalls
{
    /// <summary>An answer: status, error type (or null) and body (undefined when empty).</summary>
    internal sealed record Answer(HttpStatusCode Status, string? ErrorType, string Text)
    {
        public JsonElement Json => JsonDocument.Parse(Text).RootElement.Clone();

        public string Message => Json.GetProperty("message").GetString()!;
    }

    public static async Task<Answer> PostAsync(GatewayHost host, string path, string body, string? idempotencyKey = null, string contentType = "application/json")
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await http.SendAsync(request).WithTimeout();
        var text = await response.Content.ReadAsStringAsync().WithTimeout();
        return new Answer(response.StatusCode, response.Headers.TryGetValues("x-amzn-ErrorType", out var types) ? types.First() : null, text);
    }

    /// <summary>GETs <paramref name="path"/>, whatever the answer.</summary>
    public static Task<Answer> GetAsync(GatewayHost host, string path) => SendAsync(host, HttpMethod.Get, path);

    /// <summary>DELETEs <paramref name="path"/>, whatever the answer.</summary>
    public static Task<Answer> DeleteAsync(GatewayHost host, string path) => SendAsync(host, HttpMethod.Delete, path);

    private static async Task<Answer> SendAsync(GatewayHost host, HttpMethod method, string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        using var response = await http.SendAsync(request).WithTimeout();
        var text = await response.Content.ReadAsStringAsync().WithTimeout();
        return new Answer(response.StatusCode, response.Headers.TryGetValues("x-amzn-ErrorType", out var types) ? types.First() : null, text);
    }

    /// <summary>GETs <paramref name="path"/> and expects 200 with JSON.</summary>
    public static async Task<JsonElement> GetJsonAsync(GatewayHost host, string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative)).WithTimeout();
        var text = await response.Content.ReadAsStringAsync().WithTimeout();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Pings each client and expects the pong next: nothing else was queued for it.</summary>
    public static async Task AssertNothingMoreAsync(params TestClient[] clients)
    {
        foreach (var client in clients)
        {
            await client.SendTextAsync("""{"action":"ping"}""");
            Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
        }
    }

    /// <summary>Subscribes each client to <paramref name="topic"/>.</summary>
    public static async Task SubscribeAsync(string topic, params TestClient[] clients)
    {
        foreach (var client in clients)
        {
            await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{topic}}"}""");
            Assert.Equal("subscribed", (await Topics.TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
        }
    }
}
