using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Protocol;

namespace Gateway.Tests.Protocol;

public sealed partial class FrameJsonTests
{
    private static readonly string Controls = string.Concat(Enumerable.Range(0, 0x20).Select(c => (char)c));

    /// <summary>Strings that need no replacement: each must read back as itself.</summary>
    public static TheoryData<string> Tricky() =>
    [
        "",
        "<>&+'`",
        "events.org_1.>",
        "\"",
        "\\",
        "\"\\\"",
        Controls,
        "\u007F",
        "é",
        "日本",
        "😀",
        "a 😀 b 👍🏽 c",
        "\u2028\u2029",
        "\u00AD\uFEFF\uFFFE\u0378",
        "</script><script>alert('x')</script>",
        new string('a', 100) + "<",
        new string('a', 100) + "\"",
        new string('a', 100) + "\u001F",
        new string('é', 100) + "\\",
        string.Concat(Enumerable.Repeat("日本😀", 40)) + "\n",
    ];

    [Theory]
    [MemberData(nameof(Tricky))]
    public void Strings_read_back_as_written_with_no_escapes_but_the_ones_JSON_requires(string value)
    {
        foreach (var json in new[] { FrameJson.StringValue(value), FrameJson.StringValue(Encoding.UTF8.GetBytes(value)) })
        {
            Assert.Equal(value, JsonDocument.Parse(json).RootElement.GetString());
            var text = Encoding.UTF8.GetString(json);
            AssertOnlyRequiredEscapes(text);
            Assert.Equal(Reference(value), text);
        }
    }

    [Theory]
    [InlineData("events.org_1.>", "\"events.org_1.>\"")]
    [InlineData("<>&+'`", "\"<>&+'`\"")]
    [InlineData("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"")]
    [InlineData("a\nb\tc\r\b\f\u0000\u001F\u007F", "\"a\\nb\\tc\\r\\b\\f\\u0000\\u001F\u007F\"")]
    [InlineData("é 日本 😀 \u2028", "\"é 日本 😀 \u2028\"")]
    public void Strings_are_written_byte_for_byte(string value, string expected)
    {
        Assert.Equal(Encoding.UTF8.GetBytes(expected), FrameJson.StringValue(value));
    }

    [Fact]
    public void A_lone_surrogate_is_written_as_U_FFFD_byte_for_byte()
    {
        // Not theory data: the test framework itself mangles a lone surrogate in an attribute.
        foreach (var (value, expected, index) in new[]
        {
            ("a\uD800b", "\"a\uFFFDb\"", 1),
            ("\uDC00", "\"\uFFFD\"", 0),
            ("😀\uD83D", "\"😀\uFFFD\"", 2),
            ("\uDE00\uD83D", "\"\uFFFD\uFFFD\"", 0),
            ("a\uD800\"", "\"a\uFFFD\\\"\"", 1),
            ("a\"\uD800", "\"a\\\"\uFFFD\"", 1),
        })
        {
            Assert.Equal(Encoding.UTF8.GetBytes(expected), FrameJson.StringValue(value));
            Assert.Equal(index, MinimalJsonEncoder.IndexOfFirstToEncode(value));
        }
    }

    [Fact]
    public void A_lone_surrogate_is_replaced_with_U_FFFD_wherever_it_is()
    {
        // Lone surrogates past the first vector's width, after valid pairs, and at the very end.
        var pairs = string.Concat(Enumerable.Repeat("😀", 40));
        foreach (var (value, expected) in new[]
        {
            (pairs + "\uD800" + pairs, pairs + "\uFFFD" + pairs),
            (pairs + "\uDC00", pairs + "\uFFFD"),
            (pairs + "\uD800", pairs + "\uFFFD"),
            (new string('a', 70) + "\uD800\"", new string('a', 70) + "\uFFFD\""),
        })
        {
            var json = FrameJson.StringValue(value);
            Assert.Equal(expected, JsonDocument.Parse(json).RootElement.GetString());
            Assert.DoesNotContain("\\u", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invalid_UTF8_is_replaced_with_U_FFFD_not_copied()
    {
        // The writer copies whatever the encoder does not flag, so this is the encoder's to catch.
        byte[][] inputs =
        [
            [(byte)'a', 0xFF, (byte)'b'],
            [.. Encoding.UTF8.GetBytes(new string('x', 80)), 0xC3],
            [0xE6, 0x97, (byte)'<'],
            [0xED, 0xA0, 0x80],
        ];
        string[] expected = ["a\uFFFDb", new string('x', 80) + "\uFFFD", "\uFFFD<", "\uFFFD\uFFFD\uFFFD"];
        for (var i = 0; i < inputs.Length; i++)
        {
            var json = FrameJson.StringValue(inputs[i]);
            Assert.True(System.Text.Unicode.Utf8.IsValid(json));
            Assert.Equal(expected[i], JsonDocument.Parse(json).RootElement.GetString());
        }
    }

    [Theory]
    [InlineData("", -1)]
    [InlineData("events.org_1.>", -1)]
    [InlineData("😀é日本\u2028", -1)]
    [InlineData("ab\"", 2)]
    [InlineData("ab\\", 2)]
    [InlineData("ab\n", 2)]
    public void The_first_character_to_encode_is_found(string value, int index)
    {
        Assert.Equal(index, MinimalJsonEncoder.IndexOfFirstToEncode(value));
        Assert.Equal(index < 0 ? -1 : Encoding.UTF8.GetByteCount(value[..index]), MinimalJsonEncoder.Instance.FindFirstCharacterToEncodeUtf8(Encoding.UTF8.GetBytes(value)));
    }

    [Fact]
    public void Long_text_is_scanned_to_its_end()
    {
        foreach (var length in new[] { 15, 16, 31, 32, 63, 64, 65, 127, 128, 129, 1000 })
        {
            var plain = new string('a', length);
            Assert.Equal(-1, MinimalJsonEncoder.IndexOfFirstToEncode(plain));
            Assert.Equal(length, MinimalJsonEncoder.IndexOfFirstToEncode(plain + "\u0001"));
            Assert.Equal(length, MinimalJsonEncoder.IndexOfFirstToEncode(plain + "\uDFFF"));
            Assert.Equal(length, MinimalJsonEncoder.Instance.FindFirstCharacterToEncodeUtf8(Encoding.UTF8.GetBytes(plain + "\\")));
            Assert.Equal(length, MinimalJsonEncoder.Instance.FindFirstCharacterToEncodeUtf8([.. Encoding.UTF8.GetBytes(plain), 0x80]));
        }
    }

    [Fact]
    public void Property_names_are_written_with_the_same_escapes()
    {
        using var frame = FrameJson.Start();
        frame.Json.WriteStartObject();
        frame.Json.WriteString("a<b>\"", "c&d");
        frame.Json.WriteEndObject();
        Assert.Equal("""{"a<b>\"":"c&d"}""", Encoding.UTF8.GetString(frame.ToArray()));
    }

    [Fact]
    public void A_frame_written_while_another_is_being_written_gets_its_own_buffer()
    {
        using var outer = FrameJson.Start();
        outer.Json.WriteStartObject();
        outer.Json.WriteString("a", "1");
        var inner = FrameJson.StringValue("inner");
        outer.Json.WriteString("b", "2");
        outer.Json.WriteEndObject();
        Assert.Equal("\"inner\"", Encoding.UTF8.GetString(inner));
        Assert.Equal("""{"a":"1","b":"2"}""", Encoding.UTF8.GetString(outer.ToArray()));
    }

    [Fact]
    public void A_frame_after_one_that_failed_midway_starts_clean()
    {
        Assert.Throws<InvalidOperationException>(() =>
        {
            using var broken = FrameJson.Start();
            broken.Json.WriteStartObject();
            broken.Json.WriteString("a", "1");
            broken.Json.WriteStringValue("a value where a name must be");
        });
        Assert.Equal("\"next\"", Encoding.UTF8.GetString(FrameJson.StringValue("next")));
    }

    [Fact]
    public void The_relaxed_encoder_of_the_framework_still_escapes_what_JSON_allows()
    {
        // Why the gateway has its own encoder: UnsafeRelaxedJsonEscaping leaves <>&+' alone, but not these.
        foreach (var value in new[] { "😀", "\u007F", "\u2028", "\u0378" })
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStringValue(value);
            }

            Assert.Contains("\\u", Encoding.UTF8.GetString(buffer.WrittenSpan), StringComparison.Ordinal);
            Assert.DoesNotContain("\\u", Encoding.UTF8.GetString(FrameJson.StringValue(value)), StringComparison.Ordinal);
        }
    }

    /// <summary>Every backslash escape in <paramref name="json"/> is one JSON requires: \" \\ \b \f \n \r \t, or \u00XX for a control character.</summary>
    private static void AssertOnlyRequiredEscapes(string json)
    {
        foreach (Match escape in Escape().Matches(json))
        {
            var ok = escape.Value.Length == 2
                ? escape.Value[1] is '"' or '\\' or 'b' or 'f' or 'n' or 'r' or 't'
                : escape.Value.StartsWith("\\u00", StringComparison.Ordinal) && Convert.ToInt32(escape.Value[2..], 16) < 0x20;
            Assert.True(ok, $"unneeded escape {escape.Value} in {json}");
        }
    }

    /// <summary>The JSON string of <paramref name="value"/> written by hand: every character as itself but the ones JSON requires escaped.</summary>
    private static string Reference(string value) =>
        "\"" + string.Concat(value.Select(c => c switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\b' => "\\b",
            '\f' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            < ' ' => $"\\u{(int)c:X4}",
            _ => c.ToString(),
        })) + "\"";

    [GeneratedRegex(@"\\(u[0-9A-Fa-f]{4}|.)")]
    private static partial Regex Escape();
}
