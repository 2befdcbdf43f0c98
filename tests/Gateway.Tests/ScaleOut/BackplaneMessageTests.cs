using System.Text;
using Gateway.Backplane;

namespace Gateway.Tests.ScaleOut;

/// <summary>The backplane's message bytes: the same as a <see cref="BinaryWriter"/> writes them, so nodes of the earlier encoder still read them.</summary>
public sealed class BackplaneMessageTests
{
    public static TheoryData<string, string, string, int> Messages => new()
    {
        { "nodeAAAA", "nodeBBBBAAAAAnxifeV-", "", 0 },
        { "n", "user:é漢字", "message_stream", 5 },
        { "nodeAAAA", new string('t', 300), new string('x', 20_000), 70_000 },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Bytes_match_the_binary_writer_format_both_ways(string origin, string target, string text, int payloadLength)
    {
        var payload = Enumerable.Range(0, payloadLength).Select(i => (byte)i).ToArray();
        var message = new BackplaneMessage((BackplaneOperation)3, 0x0102030405060708, origin, target, text, 7, payload);

        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((byte)3);
            writer.Write(0x0102030405060708L);
            writer.Write(origin);
            writer.Write(target);
            writer.Write(text);
            writer.Write((byte)7);
            writer.Write(payload.Length);
            writer.Write(payload);
        }

        Assert.Equal(buffer.ToArray(), message.ToBytes());
        var read = BackplaneMessage.FromBytes(buffer.ToArray());
        Assert.NotNull(read);
        Assert.Equal((message.Operation, message.Correlation, message.Origin, message.Target, message.Text, message.Kind), (read.Operation, read.Correlation, read.Origin, read.Target, read.Text, read.Kind));
        Assert.Equal(payload, read.Payload);
    }

    [Fact]
    public void Bytes_that_are_not_a_message_read_as_null()
    {
        var good = new BackplaneMessage((BackplaneOperation)1, 1, "a", "b", "c", 0, [1, 2, 3]).ToBytes();
        for (var cut = 0; cut < good.Length; cut++)
        {
            Assert.Null(BackplaneMessage.FromBytes(good[..cut]));
        }

        Assert.Null(BackplaneMessage.FromBytes([.. good, 9])); // trailing bytes
        var badLength = (byte[])good.Clone();
        badLength[9] = 0xFF; // an origin length beyond the message
        Assert.Null(BackplaneMessage.FromBytes(badLength));
        Assert.Null(BackplaneMessage.FromBytes("{\"type\":\"not ours\"}"u8.ToArray()));
    }
}
