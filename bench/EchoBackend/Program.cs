// The minimal backend for the echo-through-an-integration benchmark: it takes the gateway's Lambda-proxy event
// and answers with the message body, which a two-way route sends back to the caller.
using System.Text.Json;

var app = WebApplication.CreateSlimBuilder(args).Build();
app.MapGet("/healthz", () => "Healthy");
app.MapPost("/", async (HttpContext context) =>
{
    using var body = new MemoryStream();
    await context.Request.Body.CopyToAsync(body);
    var reader = new Utf8JsonReader(body.GetBuffer().AsSpan(0, (int)body.Length));
    while (reader.Read())
    {
        if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("body"u8))
        {
            reader.Read();
            await context.Response.WriteAsync(reader.GetString() ?? "");
            return;
        }

        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth > 0)
        {
            reader.Skip();
        }
    }
});
app.Run();
