using System.Text;
using Gateway.Backplane;
using Gateway.Topics;

namespace Gateway.Tests.Topics;

/// <summary>How an event of the event bus becomes a topic event's type and data, and every way it is refused.</summary>
public sealed class BusEventReaderTests
{
    private static (string? Reason, string Type, string Data) Read(BusEvent busEvent)
    {
        var reason = BusEventReader.TryRead(busEvent, out var type, out var data);
        return (reason, type, Encoding.UTF8.GetString(data));
    }

    [Theory]
    [InlineData("""{"n":1}""", "posted", "posted", """{"n":1}""")]
    [InlineData("""{"type":"edited","n":1}""", null, "edited", """{"type":"edited","n":1}""")]
    [InlineData("""{"type":"edited"}""", "header_wins", "header_wins", """{"type":"edited"}""")]
    [InlineData("42", "count", "count", "42")]
    [InlineData("plain \"text\" é", "note", "note", "\"plain \\\"text\\\" é\"")]
    public void A_body_event_takes_its_type_from_the_header_or_the_body_and_its_data_from_the_body(string body, string? header, string type, string data) =>
        Assert.Equal((null, type, data), Read(new BusEvent("events.a", Encoding.UTF8.GetBytes(body), BusEventForm.Body, header)));

    [Fact]
    public void Bytes_that_are_not_UTF8_become_their_base64_as_a_JSON_string() =>
        Assert.Equal((null, "blob", "\"/wAQ\""), Read(new BusEvent("events.a", [0xff, 0x00, 0x10], BusEventForm.Body, "blob")));

    [Theory]
    [InlineData("events.a b", "1", "t", "topic")]
    [InlineData("events.a/b", "1", "t", "topic")]
    [InlineData("events.*", "1", "t", "topic")]
    [InlineData("events.a", "not json", null, "type")]
    [InlineData("events.a", """{"type":""}""", null, "type")]
    [InlineData("events.a", """[1]""", null, "type")]
    [InlineData("events.a", "1", "", "header")]
    [InlineData("events.a", "1", "bad\u0001type", "header")]
    public void A_body_event_is_refused_with_its_reason(string topic, string body, string? header, string reason) =>
        Assert.Equal(reason, Read(new BusEvent(topic, Encoding.UTF8.GetBytes(body), BusEventForm.Body, header)).Reason);

    [Fact]
    public void A_type_header_longer_than_the_limit_is_refused() =>
        Assert.Equal("header", Read(new BusEvent("events.a", "1"u8.ToArray(), BusEventForm.Body, new string('t', BusEventReader.MaxTypeLength + 1))).Reason);

    [Fact]
    public void An_event_over_the_size_limit_is_refused_without_being_read() =>
        Assert.Equal("size", Read(new BusEvent("events.a", new byte[BusEventReader.MaxBytes + 1], BusEventForm.Body, "t")).Reason);

    [Theory]
    [InlineData("""{"type":"posted","data":{"n":1}}""", null, "posted", """{"n":1}""")]
    [InlineData("""{"type":"posted"}""", null, "posted", "null")]
    [InlineData("not json", "json", "", "")]
    [InlineData("""{"data":1}""", "type", "", "")]
    public void An_envelope_event_is_read_or_refused(string body, string? reason, string type, string data) =>
        Assert.Equal((reason, type, data), Read(new BusEvent("events.a", Encoding.UTF8.GetBytes(body), BusEventForm.Envelope)));

    [Fact]
    public void An_envelope_that_is_not_UTF8_is_refused() =>
        Assert.Equal("utf8", Read(new BusEvent("events.a", [0x7b, 0xff, 0x7d], BusEventForm.Envelope)).Reason);
}
