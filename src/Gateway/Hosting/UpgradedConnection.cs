using System.Net.WebSockets;
using Gateway.Connections;

namespace Gateway.Hosting;

/// <summary>A connection whose handshake was accepted and answered with 101: what runs until it closes.</summary>
/// <param name="Connection">The connection.</param>
/// <param name="Socket">Its WebSocket, disposed when the connection has closed.</param>
internal sealed record UpgradedConnection(GatewayConnection Connection, WebSocket Socket);
