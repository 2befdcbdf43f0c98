using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>One of the dashboard's embedded files as an answer (see <see cref="DashboardFiles"/>).</summary>
/// <param name="name">The file's name: <c>index.html</c>, <c>dashboard.js</c> or <c>dashboard.css</c>.</param>
internal sealed class DashboardFile(string name) : IResult
{
    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext) => DashboardFiles.WriteAsync(httpContext, name);
}
