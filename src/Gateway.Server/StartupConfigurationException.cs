namespace Gateway.Server;

/// <summary>A start-up configuration problem whose message says what to fix; it is printed without a stack trace.</summary>
internal sealed class StartupConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
