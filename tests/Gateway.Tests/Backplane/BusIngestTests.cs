using Gateway.Backplane;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Backplane;

/// <summary>Refused events of the event bus are logged at most once a minute per reason, and every one is still refused.</summary>
public sealed class BusIngestTests
{
    private sealed class Refusing(string reason) : ILocalTopicDelivery
    {
        public int Seen { get; private set; }

        public bool Publish(string topic, string type, byte[] data) => false;

        public bool Publish(string topic, string type, byte[] data, IReadOnlySet<string> exclude) => false;

        public bool Publish(string topic, string type, byte[] data, EventOrigin from) => false;

        public BusDelivery DeliverBusEvent(BusEvent busEvent)
        {
            Seen++;
            return BusDelivery.Refuse(busEvent.Topic == "other" ? "header" : reason);
        }

        public void ApplyShared(SharedTopicEvent sharedEvent)
        {
        }
    }

    [Fact]
    public void A_reason_is_logged_once_a_minute_and_each_reason_on_its_own()
    {
        var time = new FakeTimeProvider();
        var log = new RecordingLogger<ClusterBackplane>();
        var topics = new Refusing("type");
        var network = new InMemoryBackplaneNetwork(time);
        var ingest = new BusIngest(new InMemoryBackplaneTransport(network), topics, "NODE0000", time, log, null);
        for (var i = 0; i < 5; i++)
        {
            ingest.OnBusEvent(new BusEvent("events.a", "x"u8.ToArray(), BusEventForm.Body));
        }

        ingest.OnBusEvent(new BusEvent("other", "x"u8.ToArray(), BusEventForm.Body));
        Assert.Equal(6, topics.Seen);
        Assert.Equal(2, log.Of(1607).Count);
        Assert.Contains("(type)", log.Of(1607)[0], StringComparison.Ordinal);
        Assert.Contains("(header)", log.Of(1607)[1], StringComparison.Ordinal);

        time.Advance(TimeSpan.FromSeconds(59));
        ingest.OnBusEvent(new BusEvent("events.a", "x"u8.ToArray(), BusEventForm.Body));
        Assert.Equal(2, log.Of(1607).Count);
        time.Advance(TimeSpan.FromSeconds(1));
        ingest.OnBusEvent(new BusEvent("events.a", "x"u8.ToArray(), BusEventForm.Body));
        Assert.Equal(3, log.Of(1607).Count);
    }
}
