namespace Gateway.Server;

/// <summary>What <c>--help</c> prints: the listeners, how settings are given, and where every option is described.</summary>
internal static class Usage
{
    public static bool IsRequested(string[] args) => args.Any(a => a is "--help" or "-h" or "-?" or "/?");

    public static string Text => $"""
        Gateway: a self-hosted WebSocket API gateway.

        Usage:
          Gateway.Server [--Gateway:<Section>:<Key>=<value> ...]    run the gateway
          Gateway.Server healthcheck <url>                          exit 0 when <url> answers 2xx (container health check)
          Gateway.Server --help                                     this text

        Listeners:
          clients      Gateway:Listeners:Client        default http://0.0.0.0:8080 (WebSocket clients, /healthz, /readyz)
          management   Gateway:Listeners:Management    default http://127.0.0.1:8081 (POST /@connections/{"{id}"}, /metrics, /admin)
          HTTP/2 only  Gateway:Listeners:ClientHttp2   default none; e.g. http://0.0.0.0:8082 (WebSockets over cleartext HTTP/2, h2c)

        Settings, each source overriding the ones before it:
          appsettings.json                  beside the executable ({Path.Combine(AppContext.BaseDirectory, "appsettings.json")})
          GATEWAY_SETTINGS=<file.json>      a JSON settings file; a relative path is resolved against the current directory
          Gateway__<Section>__<Key>=<value> environment variables: '__' stands for ':', list items are numbered (__0),
                                            and _connect, _disconnect, _default stand for $connect, $disconnect, $default
          --Gateway:<Section>:<Key>=<value> arguments

        Examples:
          Gateway.Server --Gateway:Listeners:Client=http://0.0.0.0:9000 --Gateway:Connections:IdleTimeout=00:05:00
          GATEWAY_SETTINGS=routes.json Gateway.Server
          Gateway__Routes___default__Integration__Type=http Gateway__Routes___default__Integration__Uri=http://backend/ Gateway.Server

        Every option, its default and meaning: docs/configuration.md in the gateway's repository.
        An invalid configuration stops the gateway at start with every problem listed, and exit code {StartupFailure.ExitCode}.
        Edited settings files, or SIGHUP, reload the configuration while it runs; an invalid reload keeps the last good one.

        """;
}
