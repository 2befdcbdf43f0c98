using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// A 200 answer with a JSON body written by the management API's own source-generated serializer, not the host
/// application's JSON options: the wire shape (names, escaping, nulls, <c>application/json</c>) is Amazon's whatever
/// the application configures for its own endpoints.
/// </summary>
/// <typeparam name="T">The body's type.</typeparam>
/// <param name="value">The body.</param>
/// <param name="typeInfo">Its serialization, from <see cref="ManagementJson"/>.</param>
internal sealed class ManagementJsonResult<T>(T value, JsonTypeInfo<T> typeInfo) : IResult, IStatusCodeHttpResult, IValueHttpResult<T>
{
    /// <summary>The body.</summary>
    public T Value => value;

    T? IValueHttpResult<T>.Value => value;

    int? IStatusCodeHttpResult.StatusCode => StatusCodes.Status200OK;

    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.ContentType = "application/json";
        return httpContext.Response.WriteAsync(JsonSerializer.Serialize(value, typeInfo));
    }
}
