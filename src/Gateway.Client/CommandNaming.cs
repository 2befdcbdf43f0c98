namespace Gateway.Client;

/// <summary>Which member of a frame names the command, as the gateway's <c>RouteSelectionExpression</c> reads it.</summary>
public enum CommandNaming
{
    /// <summary><c>{"action":"subscribe",…}</c>: the default expression, <c>$request.body.action</c>.</summary>
    Action,

    /// <summary><c>{"type":"subscribe",…}</c>: for a gateway configured with <c>$request.body.type</c>.</summary>
    Type,
}
