
namespace Gateway.Topics;

/// <summary>What the topic policy decided about one subscribe.</summary>
public enum TopicDecision
{
    /// <summary>The subscription may go ahead.</summary>
    Allowed,

    /// <summary>The connection may not subscribe to it (<c>unauthorized</c>).</summary>
    Denied,

    /// <summary>The subscribe authorizer could not be asked (<c>internal_error</c>).</summary>
    Failed,
}
