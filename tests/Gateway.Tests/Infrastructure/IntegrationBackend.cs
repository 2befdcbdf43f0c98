using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

public sealed record BackendRequest(string Path, IHeaderDictionary Headers, byte[] Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>A backend on loopback that records every request and answers as the test says.</summary>
public sealed class IntegrationBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<BackendRequest> _requests = new();

    private IntegrationBackend(WebApplication app) => _app = app;

    /// <summary>How to answer a request; by default 200 with no body.</summary>
    public Func<BackendRequest, HttpContext, Task> Answer { get; set; } = (_, _) => Task.CompletedTask;

    public IReadOnlyCollection<BackendRequest> Requests => _requests;

    public Uri Url(string path) => new(new Uri(_app.Urls.First()), path);

    public static async Task<IntegrationBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var backend = new IntegrationBackend(app);
        app.Map("/{**path}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            // A copy: Kestrel reuses the request's header dictionary once the request is over.
            var headers = new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
            var request = new BackendRequest(context.Request.Path, headers, body.ToArray());
            backend._requests.Enqueue(request);
            await backend.Answer(request, context);
        });
        await app.StartAsync();
        return backend;
    }

    public async Task<BackendRequest> WaitForAsync(Func<BackendRequest, bool> match)
    {
        BackendRequest? found = null;
        await Wait.UntilAsync(() => (found = _requests.FirstOrDefault(match)) is not null, "the backend received a matching request");
        return found!;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
