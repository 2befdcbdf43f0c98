using System.Net;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Infrastructure;

/// <summary>The real gateway host (<c>Program</c>) on Kestrel at 127.0.0.1:0, with a fake clock and a recorder of route events.</summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private GatewayHost(WebApplicationFactory<Program> factory, FakeTimeProvider? time)
    {
        _factory = factory;
        _time = time;
    }

    /// <summary>The host's clock: advance it to run idle, lifetime and ping deadlines.</summary>
    public FakeTimeProvider Time => _time ?? throw new InvalidOperationException("this host runs on the real clock");

    private readonly FakeTimeProvider? _time;

    public IServiceProvider Services => _factory.Services;

    public EventRecorder Events => Services.GetRequiredService<EventRecorder>();

    public ConnectionRegistry Registry => Services.GetRequiredService<ConnectionRegistry>();

    public ConnectionSender Sender => Services.GetRequiredService<ConnectionSender>();

    public IPEndPoint ClientEndPoint => Services.GetRequiredService<GatewayListeners>().EndPoints(GatewayListenerKind.Client).First();

    /// <summary>The HTTP/2-only client listener (<c>Gateway:Listeners:ClientHttp2</c>), when the test configured one.</summary>
    public IPEndPoint ClientHttp2EndPoint => Services.GetRequiredService<GatewayListeners>().EndPoints(GatewayListenerKind.Http2Only).First();

    public IPEndPoint ManagementEndPoint => Services.GetRequiredService<GatewayListeners>().EndPoints(GatewayListenerKind.Management).First();

    public Uri ClientUri(string path = "/") => new($"ws://127.0.0.1:{ClientEndPoint.Port}{path}");

    /// <summary>
    /// Starts a gateway. <paramref name="settings"/> are configuration keys (as in appsettings, colon-separated).
    /// Unless <paramref name="recordDisconnect"/> is false, <c>$disconnect</c> is recorded by <see cref="EventRecorder"/>.
    /// <paramref name="kestrel"/> sets Kestrel's options (its limits, which the host does not read from configuration).
    /// <paramref name="reloadable"/> adds settings the test can change while the host runs.
    /// </summary>
    public static Task<GatewayHost> StartAsync(
        IDictionary<string, string?>? settings = null,
        Action<IGatewayBuilder>? gateway = null,
        bool recordDisconnect = true,
        bool realClock = false,
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>? kestrel = null,
        ReloadableSettings? reloadable = null)
    {
        var time = realClock ? null : new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Gateway:Listeners:Client", "http://127.0.0.1:0");
            builder.UseSetting("Gateway:Listeners:Management", "http://127.0.0.1:0");
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                builder.UseSetting(key, value);
            }

            if (reloadable is not null)
            {
                builder.ConfigureAppConfiguration((_, configuration) => configuration.Add(reloadable));
            }

            if (kestrel is not null)
            {
                builder.ConfigureKestrel(kestrel);
            }

            builder.ConfigureTestServices(services =>
            {
                if (time is not null)
                {
                    services.AddSingleton<TimeProvider>(time);
                }

                services.AddSingleton<EventRecorder>();
                var g = services.AddWebSocketGateway();
                if (recordDisconnect)
                {
                    g.MapRoute<EventRecorder>("$disconnect");
                }

                gateway?.Invoke(g);
            });
        });
        factory.UseKestrel();
        factory.StartServer();

        // The factory's host does not run the start-up validation a real host runs: run it here, as Program does.
        try
        {
            factory.Services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
        }
        catch
        {
            factory.Dispose();
            throw;
        }

        return Task.FromResult(new GatewayHost(factory, time));
    }

    /// <summary>Connects a client that reads every frame into a queue.</summary>
    public Task<TestClient> ConnectAsync(string path = "/", bool expectConnectedFrame = true, Action<System.Net.WebSockets.ClientWebSocketOptions>? configure = null) =>
        TestClient.ConnectAsync(ClientUri(path), expectConnectedFrame, configure);

    /// <summary>Connects a raw TCP client that has completed the handshake and reads nothing unless asked.</summary>
    public Task<RawClient> ConnectRawAsync(string path = "/", int receiveBufferSize = 0) =>
        RawClient.ConnectAsync(ClientEndPoint, path, receiveBufferSize);

    /// <summary>Advances the clock in sweep-sized steps so every deadline fires on its tick.</summary>
    public void Advance(TimeSpan by) => Time.Advance(by);

    /// <summary>
    /// Moves the clock a step at a time until <paramref name="done"/> completes: for a timer another task starts at a
    /// moment the test cannot see (a client's retry delay after a drop), so one jump could come before the timer exists.
    /// </summary>
    public async Task<T> AdvanceUntilAsync<T>(Task<T> done, TimeSpan step, int maxSteps = 10)
    {
        for (var i = 0; i < maxSteps && !done.IsCompleted; i++)
        {
            Time.Advance(step);
            await Task.WhenAny(done, Task.Delay(TimeSpan.FromMilliseconds(100)));
        }

        return await done.WithTimeout();
    }

    /// <summary>The server side of a connection.</summary>
    public GatewayConnection Connection(string id) =>
        Registry.TryGet(id, out var c) ? c : throw new InvalidOperationException($"connection {id} is not registered");

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();
}
