using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Hosting;
using Gateway.Integrations;
using Gateway.Management;
using Gateway.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Registration lives in the DI namespace so that AddWebSocketGateway() is found where AddX() calls are.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the WebSocket gateway's services.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway, bound to <paramref name="configuration"/> (the <c>Gateway</c> section) when given.
    /// Calling it again adds nothing twice, so hosts and tests can each add routes.
    /// </summary>
    public static IGatewayBuilder AddWebSocketGateway(this IServiceCollection services, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GatewayOptions>();
        if (configuration is not null)
        {
            options.BindReportingValueErrors(configuration);
            options.PostConfigure(o => MergeRouteAliases(o, configuration));
            options.PostConfigure(o => o.Topics.Presence.BindRules(configuration.GetSection("Topics:Presence")));
            options.PostConfigure(o => o.Connections.Compression.BindMode(configuration.GetSection("Connections:Compression")));
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        // The observed instruments read the parts above diagnostics through these delegates, resolved when first read.
        services.TryAddSingleton(sp => new Gateway.Diagnostics.GatewayMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), new Gateway.Diagnostics.GaugeSources(
            ActiveConnections: () => sp.GetRequiredService<ConnectionRegistry>().Count,
            QueuedMessages: () => sp.GetRequiredService<ConnectionRegistry>().All().Sum(c => (long)c.QueuedMessages),
            Subscriptions: () => sp.GetRequiredService<Gateway.Topics.TopicHub>().SubscriptionCount,
            HistoryTopics: () => sp.GetRequiredService<Gateway.Topics.TopicHub>().HistoryTopicCount,
            BackplaneAvailable: () => sp.GetRequiredService<IBackplane>().IsAvailable,
            BackplaneEngine: () => sp.GetRequiredService<IBackplane>().Engine,
            PresenceMembers: () => sp.GetRequiredService<IBackplane>().Presence.OwnMembers)));
        services.TryAddSingleton<GatewayConfiguration>();
        services.TryAddSingleton<GatewayNode>();
        services.TryAddSingleton<GatewayListeners>();
        services.TryAddSingleton<ConnectionRuntime>();
        services.TryAddSingleton<ConnectionRegistry>();
        services.TryAddSingleton<IBackplane, InMemoryBackplane>();
        services.TryAddSingleton<ConnectionSender>();
        services.TryAddSingleton<RouteTable>();
        services.TryAddSingleton<MessageDispatcher>();
        services.TryAddSingleton<ClientLifecycle>();
        services.TryAddSingleton<SseEndpoints>();
        services.TryAddSingleton<ResumeTokens>();
        services.TryAddSingleton<SessionHandover>();
        services.TryAddSingleton<ILocalSessions>(sp => sp.GetRequiredService<SessionHandover>());
        services.TryAddSingleton<ManagementAccess>();
        if (!services.Any(d => d.ServiceType == typeof(ManagementQueries)))
        {
            services.AddSingleton<ManagementQueries>();
            foreach (var name in ManagementQueries.Names)
            {
                services.AddSingleton<IClusterQueryHandler>(sp => new ManagementQueryHandler(sp.GetRequiredService<ManagementQueries>(), name));
            }
        }

        services.TryAddSingleton<ManagementListenerFilter>();
        services.TryAddSingleton<ManagementAccessFilter>();
        services.TryAddSingleton<IdempotencyFilter>();
        services.TryAddSingleton<DashboardAccessFilter>();
        services.TryAddSingleton<Gateway.Auth.IAccessKeyStore>(sp => sp.GetRequiredService<ManagementAccess>());
        services.TryAddSingleton<GatewayIdentity>();
        services.TryAddSingleton<Gateway.Auth.ConnectAuthenticator>();
        services.TryAddSingleton<Gateway.Topics.TopicHub>();
        services.TryAddSingleton<ILocalTopicDelivery, Gateway.Topics.TopicDelivery>();
        services.TryAddSingleton<Gateway.Topics.LocalServerSubscriptions>();
        services.TryAddSingleton<ILocalTopicSubscriptions>(sp => sp.GetRequiredService<Gateway.Topics.LocalServerSubscriptions>());
        services.TryAddSingleton<Gateway.Topics.ServerSubscriptions>();
        services.TryAddSingleton<Gateway.Topics.TopicAuthorizer>();
        services.TryAddSingleton<Gateway.Topics.TopicHistoryReader>();
        services.TryAddSingleton<Gateway.Topics.GatewayPublisher>();
        services.TryAddSingleton<Gateway.Backplane.IGatewayPublisher>(sp => sp.GetRequiredService<Gateway.Topics.GatewayPublisher>());
        services.TryAddSingleton<Gateway.Presence.TopicWebhooks>();
        services.TryAddSingleton<Gateway.Presence.PresenceTracker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Hosting.IStartupFilter, ManagementPathNormalizer>());
        if (!services.Any(d => d.ServiceType == typeof(ConnectionSweeper)))
        {
            // What configuration can name, and the built-in commands, registered by the parts that implement them.
            services.AddSingleton(new NamedHandlerRegistration("echo", typeof(Gateway.Routing.Handlers.EchoHandler)));
            services.AddSingleton(new NamedHandlerRegistration("broadcast", typeof(Gateway.Routing.Handlers.BroadcastHandler)));
            services.AddSingleton(new NamedHandlerRegistration("mock", typeof(Gateway.Routing.Handlers.MockHandler))
            {
                Create = static (_, _, route) => new Gateway.Routing.Handlers.MockHandler(route.Response, route.StatusCode),
            });
            services.AddSingleton(new IntegrationRegistration("http",
                static (sp, key, integration) => ActivatorUtilities.CreateInstance<HttpIntegration>(sp, key, integration),
                static integration => "http " + integration.Uri));
            services.AddSingleton(new IntegrationRegistration("mock",
                static (_, _, integration) => new Gateway.Routing.Handlers.MockHandler(integration.Response, integration.StatusCode),
                static _ => "mock"));
            services.AddSingleton(new BuiltInRouteRegistration(static o => o.Auth.Jwt.Enabled ? o.Auth.Jwt.RefreshRoute : null, typeof(Gateway.Auth.TokenRefreshHandler), "refresh"));
            services.AddSingleton(new BuiltInRouteRegistration(static o => o.Topics.Enabled ? o.Topics.Commands.Subscribe : null, typeof(Gateway.Topics.SubscribeHandler), nameof(Gateway.Topics.SubscribeHandler)));
            services.AddSingleton(new BuiltInRouteRegistration(static o => o.Topics.Enabled ? o.Topics.Commands.Unsubscribe : null, typeof(Gateway.Topics.UnsubscribeHandler), nameof(Gateway.Topics.UnsubscribeHandler)));
            services.AddSingleton(new BuiltInRouteRegistration(static o => o.Topics.Enabled ? o.Topics.Commands.Ping : null, typeof(Gateway.Topics.PingHandler), nameof(Gateway.Topics.PingHandler)));
            services.AddSingleton(new BuiltInRouteRegistration(static o => o.Topics.Enabled ? o.Topics.Commands.History : null, typeof(Gateway.Topics.HistoryHandler), nameof(Gateway.Topics.HistoryHandler)));
            services.AddSingleton(new BuiltInRouteRegistration(static o => o.Topics.Enabled && o.Topics.Presence.Rules.Count > 0 ? o.Topics.Commands.Presence : null, typeof(Gateway.Presence.PresenceHandler), nameof(Gateway.Presence.PresenceHandler)));
            services.AddSingleton(new BuiltInRouteRegistration(static o => o.Topics.Enabled && o.Topics.ClientPublish.Count > 0 ? o.Topics.Commands.Publish : null, typeof(Gateway.Topics.PublishHandler), nameof(Gateway.Topics.PublishHandler)));

            services.AddSingleton<ConnectionSweeper>();
            services.AddHostedService(sp => sp.GetRequiredService<ConnectionSweeper>());
            services.AddHostedService<ConnectionDrain>();
            services.AddHostedService(sp => sp.GetRequiredService<Gateway.Presence.TopicWebhooks>());
            services.AddHostedService(sp => sp.GetRequiredService<Gateway.Presence.PresenceTracker>());
            services.AddHttpClient(Gateway.Presence.TopicWebhooks.ClientName).ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
            services.AddSingleton<Gateway.Management.DashboardSampler>();
            services.AddHostedService(sp => sp.GetRequiredService<Gateway.Management.DashboardSampler>());
            services.AddHealthChecks()
                .AddCheck<GatewayHealthChecks.DrainCheck>(GatewayHealthChecks.Draining, tags: [GatewayHealthChecks.ReadyTag])
                .AddCheck<GatewayHealthChecks.BackplaneCheck>(GatewayHealthChecks.Backplane, tags: [GatewayHealthChecks.ReadyTag, GatewayHealthChecks.BackplaneTag]);

            // The host's shutdown limit follows the drain: the drain's time, and a little for the server to let go of the
            // sockets whose $disconnect outlived it.
            services.AddOptions<Microsoft.Extensions.Hosting.HostOptions>().Configure<IOptions<GatewayOptions>>((host, gateway) =>
            {
                try
                {
                    host.ShutdownTimeout = gateway.Value.Connections.DrainTimeout + TimeSpan.FromSeconds(2);
                }
                catch (OptionsValidationException)
                {
                    // The host is built before options are validated: an invalid configuration is reported by the start-up
                    // validation, with every other problem, rather than here alone.
                }
            });
            services.AddHttpClient(BackendHttpClient.Name)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
                {
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    MaxConnectionsPerServer = 1024,
                })
                .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
            services.AddHttpClient(Gateway.Auth.SigningKeySource.ClientName)
                .ConfigureHttpClient(client => client.MaxResponseContentBufferSize = 1024 * 1024);
        }
        return new GatewayBuilder(services);
    }

    /// <summary>
    /// <c>Routes:_connect</c> (the spelling environment variables can use) and <c>Routes:$connect</c> name one route.
    /// When both are configured, for example <c>$default</c> in a settings file and <c>Gateway__Routes___default__…</c>
    /// in the environment, they are merged key by key, the <c>_</c> spelling winning.
    /// </summary>
    private static void MergeRouteAliases(GatewayOptions options, IConfiguration configuration)
    {
        foreach (var key in (string[])[RouteKeys.Connect, RouteKeys.Disconnect, RouteKeys.Default])
        {
            var alias = "_" + key[1..];
            if (!options.Routes.ContainsKey(key) || !options.Routes.ContainsKey(alias))
            {
                continue;
            }

            var merged = new GatewayRouteOptions();
            var overrides = configuration.GetSection($"Routes:{alias}");
            // Values of the wrong type are reported by the main binding; here they only must not throw.
            ConfigurationValues.Bind(configuration.GetSection($"Routes:{key}"), merged);

            // An override that names a handler or an integration replaces the kind of route, not only its values.
            if (overrides.GetSection(nameof(GatewayRouteOptions.Handler)).Exists())
            {
                merged.Integration = null;
            }

            if (overrides.GetSection(nameof(GatewayRouteOptions.Integration)).Exists())
            {
                merged.Handler = null;
            }

            ConfigurationValues.Bind(overrides, merged);
            options.Routes[key] = merged;
            options.Routes.Remove(alias);
        }
    }
}
