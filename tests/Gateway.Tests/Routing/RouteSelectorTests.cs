using System.Text;
using Gateway.Routing;

namespace Gateway.Tests.Routing;

public class RouteSelectorTests
{
    private static string? Select(string expression, string body)
    {
        Assert.True(RouteSelector.TryParse(expression, out var selector, out var error), error);
        return selector!.Select(Encoding.UTF8.GetBytes(body));
    }

    [Theory]
    [InlineData("""{"action":"sendmessage"}""", "sendmessage")]
    [InlineData("""  {"other":1, "action" : "join" , "x":[1,{"action":"inner"}]}""", "join")]
    [InlineData("""{"x":{"action":"nested-not-top"},"action":"top"}""", "top")]
    [InlineData("""{"x":{"action":"nested-only"}}""", "")]
    [InlineData("""{"action":42}""", "42")]
    [InlineData("""{"action":-1.5e3}""", "-1.5e3")]
    [InlineData("""{"action":123456789012345678901234567890}""", "123456789012345678901234567890")]
    [InlineData("""{"action":true}""", "true")]
    [InlineData("""{"action":null}""", "")]
    [InlineData("""{"action":{"a":1}}""", """{"a":1}""")]
    [InlineData("""{"action":[1, 2]}""", "[1, 2]")]
    [InlineData("""{"act\u0069on":"escaped-key"}""", "escaped-key")]
    [InlineData("""{"action":"line\nbreak \u00e9 \"q\""}""", "line\nbreak é \"q\"")]
    [InlineData("""{"action":"first","action":"second"}""", "first")]
    [InlineData("""{"Action":"upper"}""", "")]
    [InlineData("""{}""", "")]
    [InlineData("""[1,2,3]""", "")]
    public void Plain_expression_selects_the_top_level_value(string body, string expected) =>
        Assert.Equal(expected, Select("$request.body.action", body));

    [Theory]
    [InlineData("hello")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("""{"action":"x" """)]
    [InlineData("""{"action":"x"} trailing""")]
    [InlineData("""{"action":"x",}""")]
    [InlineData("""{'action':'x'}""")]
    [InlineData("42")]
    public void Anything_but_a_JSON_document_has_no_route_key(string body) =>
        Assert.Null(Select("$request.body.action", body));

    [Fact]
    public void Deep_nesting_beyond_the_reader_limit_is_not_JSON()
    {
        var deep = "{\"a\":" + string.Concat(Enumerable.Repeat("[", 5000)) + string.Concat(Enumerable.Repeat("]", 5000)) + "}";
        Assert.Null(Select("$request.body.action", deep));
    }

    [Fact]
    public void Nested_paths_follow_objects_only()
    {
        Assert.Equal("typing", Select("$request.body.meta.type", """{"meta":{"id":1,"type":"typing"}}"""));
        Assert.Equal("", Select("$request.body.meta.type", """{"meta":[{"type":"typing"}]}"""));
        Assert.Equal("", Select("$request.body.meta.type", """{"meta":"type"}"""));
        Assert.Equal("deep", Select("$request.body.a.b.c", """{"a":{"x":{"c":"no"},"b":{"c":"deep"}}}"""));
        Assert.Equal("", Select("$request.body.a.b", """{"a":{"x":1},"b":"sibling"}"""));
    }

    [Fact]
    public void Templates_concatenate_literals_and_values()
    {
        const string T = "${request.body.service}/${request.body.action}";
        Assert.Equal("chat/send", Select(T, """{"action":"send","service":"chat"}"""));
        Assert.Equal("chat/", Select(T, """{"service":"chat"}"""));
        Assert.Equal("/", Select(T, """{}"""));
        Assert.Equal("v1.chat.7", Select("v1.${request.body.meta.service}.${request.body.n}", """{"n":7,"meta":{"service":"chat"}}"""));
        Assert.Equal("a-a", Select("${request.body.x}-${request.body.x}", """{"x":"a"}"""));
        Assert.Null(Select(T, "not json"));
    }

    [Theory]
    [InlineData("${request.body.a.b}|${request.body.a}", """{"a":{"b":"x"},"c":{"b":"WRONG"}}""", """x|{"b":"x"}""")]
    [InlineData("${request.body.a}|${request.body.a.b}", """{"a":{"b":"x"}}""", """{"b":"x"}|x""")]
    [InlineData("${request.body.a}-${request.body.a}", """{"a":{"b":1}}""", """{"b":1}-{"b":1}""")]
    [InlineData("${request.body.a}-${request.body.a.b}", """{"a":[1,{"b":2}],"z":{}}""", "[1,{\"b\":2}]-")]
    [InlineData("${request.body.x.y}/${request.body.x.z}", """{"x":{"y":{"deep":[1]},"z":"zz"}}""", """{"deep":[1]}/zz""")]
    public void Template_paths_sharing_a_prefix_each_see_the_whole_document(string expression, string body, string expected) =>
        Assert.Equal(expected, Select(expression, body));

    [Theory]
    [InlineData("$request.body.action", """{"action":"\uD800"}""")]
    [InlineData("${request.body.action}/x", """{"action":"ab\uDC00"}""")]
    public void A_lone_surrogate_escape_is_not_a_usable_key(string expression, string body) => Assert.Null(Select(expression, body));

    [Fact]
    public void Keys_longer_than_the_stack_buffer_are_selected_whole()
    {
        var key = new string('k', 5000);
        Assert.Equal(key, Select("$request.body.action", $$"""{"action":"{{key}}"}"""));
    }

    [Theory]
    [InlineData("")]
    [InlineData("action")]
    [InlineData("$request.header.action")]
    [InlineData("$request.body.")]
    [InlineData("$request.body.a..b")]
    [InlineData("${request.body.action")]
    [InlineData("${request.querystring.x}")]
    public void Malformed_expressions_are_rejected_with_a_reason(string expression)
    {
        Assert.False(RouteSelector.TryParse(expression, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
