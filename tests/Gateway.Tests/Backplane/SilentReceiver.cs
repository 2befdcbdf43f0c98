using Gateway.Backplane;

namespace Gateway.Tests.Backplane;

/// <summary>A node that listens and never answers: what a hung node, or a test writing records by hand, looks like.</summary>
public sealed class SilentReceiver : IBackplaneReceiver
{
    public void OnMessage(byte[] message)
    {
    }

    public void OnSharedEvent(SharedTopicEvent sharedEvent)
    {
    }

    public void OnBusEvent(BusEvent busEvent)
    {
    }

    public void OnBusEventRefused(string topic, string reason)
    {
    }

    public void OnReconnected()
    {
    }
}
