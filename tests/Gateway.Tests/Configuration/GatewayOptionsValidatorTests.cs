using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Routing;

namespace Gateway.Tests.Configuration;

public class GatewayOptionsValidatorTests
{
    // The validator as the gateway registers it: the built-in handlers and integrations, and one handler named in code.
    private static readonly GatewayOptionsValidator Validator = new ServiceCollection()
        .AddWebSocketGateway().AddRouteHandler<Gateway.Routing.Handlers.EchoHandler>("custom").Services
        .BuildServiceProvider().GetServices<Microsoft.Extensions.Options.IValidateOptions<GatewayOptions>>().OfType<GatewayOptionsValidator>().Single();

    [Fact]
    public void The_defaults_are_valid() => Assert.True(Validator.Validate(null, new GatewayOptions()).Succeeded);

    [Fact]
    public void Every_error_is_reported_at_once()
    {
        var options = new GatewayOptions
        {
            Stage = "a/b",
            RouteSelectionExpression = "$request.header.x",
            NodeId = "bad",
            Listeners = { Client = "tcp://x", Management = "nope" },
            Connections = { MaxMessageBytes = 0, SendQueueLimit = 0, MaxConnections = 0, PongTimeout = TimeSpan.Zero, IdleTimeout = TimeSpan.FromSeconds(-1), TrustedProxies = { "not-an-ip" } },
            Routes =
            {
                ["$default"] = new GatewayRouteOptions { Handler = "nonesuch" },
                ["_default"] = new GatewayRouteOptions { Handler = "echo" },
                ["both"] = new GatewayRouteOptions { Handler = "echo", Integration = new IntegrationOptions { Type = "mock" } },
                ["neither"] = new GatewayRouteOptions(),
                ["$custom"] = new GatewayRouteOptions { Handler = "echo" },
                ["weird"] = new GatewayRouteOptions { Integration = new IntegrationOptions { Type = "carrier-pigeon" } },
                ["status"] = new GatewayRouteOptions { Handler = "mock", StatusCode = 42 },
            },
        };

        var result = Validator.Validate(null, options);
        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        foreach (var expected in new[]
        {
            "Stage", "RouteSelectionExpression", "NodeId", "Listeners:Client", "Listeners:Management", "MaxMessageBytes", "SendQueueLimit",
            "MaxConnections", "PongTimeout", "IdleTimeout", "TrustedProxies", "'nonesuch'", "both define route key '$default'",
            "Routes:both must have exactly one", "Routes:neither must have exactly one", "'$custom' is not a predefined", "carrier-pigeon", "StatusCode 42",
        })
        {
            Assert.Contains(failures, f => f.Contains(expected, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("http://0.0.0.0:8082", null)]
    [InlineData("https://*:8443", null)]
    [InlineData("http://127.0.0.1:0", null)]
    [InlineData("ws://0.0.0.0:8082", "must be an http:// or https:// URL")]
    [InlineData("http://0.0.0.0:8082/h2", "must be an http:// or https:// URL")]
    [InlineData("http://0.0.0.0:8080", "must have a port of its own")]
    [InlineData("http://127.0.0.1:8081", "must have a port of its own")]
    public void The_http2_listener_is_a_listener_url_on_a_port_of_its_own(string url, string? error)
    {
        var result = Validator.Validate(null, new GatewayOptions { Listeners = { ClientHttp2 = url } });
        if (error is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.Contains(result.Failures!, f => f.StartsWith("Gateway:Listeners:ClientHttp2", StringComparison.Ordinal) && f.Contains(error, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_event_stream_reserves_the_stage_name_sse_and_its_options_are_checked_with_their_keys()
    {
        var options = new GatewayOptions { Stage = "SSE", Sse = { KeepAliveInterval = TimeSpan.Zero, AllowedOrigins = { "https://app.example.com/path", "app.example.com", "https://ok.example.com:8443" } } };
        var failures = Validator.Validate(null, options).Failures!.ToList();
        Assert.Equal(4, failures.Count);
        Assert.Contains(failures, f => f.StartsWith("Gateway:Stage 'SSE' is reserved: /sse is the Server-Sent Events stream", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:Sse:KeepAliveInterval 00:00:00 must be", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:Sse:AllowedOrigins 'https://app.example.com/path' must be an origin", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Gateway:Sse:AllowedOrigins 'app.example.com' must be an origin", StringComparison.Ordinal));
        Assert.True(new GatewayOptions().Sse.Enabled);
    }

    [Fact]
    public void History_patterns_that_overlap_are_refused_with_every_overlapping_pair_in_one_line()
    {
        var options = new GatewayOptions();
        foreach (var pattern in new[] { "events.>", "rooms.*", "events.room.*", "rooms.lobby", "other.x" })
        {
            options.Topics.History.Add(new TopicHistoryOptions { Pattern = pattern });
        }

        var failures = Validator.Validate(null, options).Failures!.ToList();
        Assert.Equal(
            "Gateway:Topics:History: patterns may not overlap, and these do (a topic would match both): entries 0 'events.>' and 2 'events.room.*'; entries 1 'rooms.*' and 3 'rooms.lobby'.",
            Assert.Single(failures));

        options.Topics.History.RemoveAt(2);
        options.Topics.History.RemoveAt(2);
        Assert.True(Validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void Named_handlers_registered_in_code_are_known()
    {
        var options = new GatewayOptions { Routes = { ["x"] = new GatewayRouteOptions { Handler = "custom" } } };
        Assert.True(Validator.Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("_connect", null, "$connect")]
    [InlineData("_disconnect", null, "$disconnect")]
    [InlineData("_default", null, "$default")]
    [InlineData("$connect", null, "$connect")]
    [InlineData("sendmessage", null, "sendmessage")]
    [InlineData("anything", "SendMessage", "SendMessage")]
    public void Route_keys_come_from_the_section_name_its_alias_or_RouteKey(string section, string? routeKey, string expected) =>
        Assert.Equal(expected, RouteKeys.FromConfiguration(section, routeKey));
}
