using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>The dashboard's page, script and style sheet, embedded in the library and served from memory.</summary>
internal static class DashboardFiles
{
    private static readonly FrozenDictionary<string, (byte[] Content, string Type)> Files = Load();

    public static async Task WriteAsync(HttpContext context, string name)
    {
        var (content, type) = Files[name];
        context.Response.ContentType = type;
        context.Response.ContentLength = content.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(content, context.RequestAborted);
        }
    }

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(DashboardFiles).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var (name, type) in new[] { ("index.html", "text/html; charset=utf-8"), ("dashboard.js", "text/javascript; charset=utf-8"), ("dashboard.css", "text/css; charset=utf-8") })
        {
            using var stream = assembly.GetManifestResourceStream("Gateway.Dashboard." + name)
                ?? throw new InvalidOperationException($"The dashboard file {name} is missing from the assembly.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = (copy.ToArray(), type);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
