namespace Gateway.Configuration;

/// <summary>What an <c>http</c> integration posts to its backend.</summary>
public enum IntegrationRequestFormat
{
    /// <summary>The Lambda-proxy WebSocket event as JSON, as Amazon API Gateway sends it to a Lambda function.</summary>
    Lambda,

    /// <summary>The message body as it is, with the connection id, route key, request id and event type in headers.</summary>
    Raw,
}
