using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>An answer of the dashboard's JSON endpoints: one object, written as it is built.</summary>
/// <param name="status">The HTTP status.</param>
/// <param name="write">Writes the object's properties.</param>
internal sealed class DashboardJsonResult(int status, Action<Utf8JsonWriter> write) : IResult, IStatusCodeHttpResult
{
    /// <summary>The HTTP status.</summary>
    public int StatusCode => status;

    int? IStatusCodeHttpResult.StatusCode => status;

    /// <summary>An error: <c>{"message": …}</c>.</summary>
    public static DashboardJsonResult Error(int status, string message) => new(status, json => json.WriteString("message", message));

    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = status;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        await httpContext.Response.Body.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted);
    }
}
