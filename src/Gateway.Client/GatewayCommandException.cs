namespace Gateway.Client;

/// <summary>The gateway refused a command: an <c>error</c> frame (or <c>publish_failed</c>) answering it.</summary>
public class GatewayCommandException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GatewayCommandException()
        : this("", "the gateway refused the command", null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayCommandException(string message)
        : this("", message, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayCommandException(string message, Exception? innerException)
        : this("", message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer's <paramref name="code"/> and message.</summary>
    public GatewayCommandException(string code, string message, Exception? innerException = null)
        : base(message, innerException) => Code = code;

    /// <summary>The answer's code: <c>invalid_request</c>, <c>unauthorized</c>, <c>subscription_failed</c>, <c>internal_error</c>, <c>not_found</c>, a publish's reason…</summary>
    public string Code { get; } = "";

    /// <summary>The whole answer frame, when there was one.</summary>
    public string? Frame { get; init; }
}
