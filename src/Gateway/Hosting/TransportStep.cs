using Gateway.Auth;

namespace Gateway.Hosting;

/// <summary>What differs between a WebSocket handshake and an event stream's request; the admission is the same.</summary>
/// <param name="Open">Opens the wire once the client is admitted: the WebSocket upgrade, or the event stream's response.</param>
/// <param name="Resume">The session the request asks to resume, once it is authenticated as <see cref="AuthOutcome"/>; null when it asks none.</param>
/// <param name="OriginAllowed">Whether a browser page of the request's <c>Origin</c> may connect.</param>
/// <param name="TakesFirstMessage">True when the client may authenticate with its first message (not an event stream: its first message needs the send URL its connected event brings).</param>
internal sealed record TransportStep(TransportOpener Open, Func<AuthOutcome, ResumeAsk?> Resume, Func<string, bool> OriginAllowed, bool TakesFirstMessage);
