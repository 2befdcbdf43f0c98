using Gateway.Connections;

namespace Gateway.Hosting;

/// <summary>
/// Opens an admitted client's wire: given its connection, the subprotocol <c>$connect</c> chose, and the data frames its
/// client has received already (a resumed session; 0 for a new one).
/// </summary>
internal delegate Task<ClientTransport> TransportOpener(GatewayConnection connection, string? subProtocol, long received);
