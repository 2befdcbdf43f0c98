namespace Gateway.Client;

/// <summary>A frame waiting to be sent, with the command it carries, if any.</summary>
internal readonly record struct OutgoingFrame(byte[] Utf8, PendingCommand? Command);
