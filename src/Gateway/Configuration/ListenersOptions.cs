namespace Gateway.Configuration;

/// <summary>The two listeners: clients, and the management API.</summary>
public sealed class ListenersOptions
{
    /// <summary>The client WebSocket listener URL.</summary>
    public string Client { get; set; } = "http://0.0.0.0:8080";

    /// <summary>The management listener URL; empty or equal to <see cref="Client"/> shares the client listener.</summary>
    public string? Management { get; set; } = "http://127.0.0.1:8081";
}
