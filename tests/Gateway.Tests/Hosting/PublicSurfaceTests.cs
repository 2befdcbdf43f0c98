using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Gateway.Redis;
using Microsoft.AspNetCore.Builder;

namespace Gateway.Tests.Hosting;

/// <summary>
/// The library's public types next to a web app's usings: a <c>dotnet new web</c> project imports System.* and
/// Microsoft.AspNetCore.* namespaces implicitly, so a public type of ours named like one of the shared framework's
/// makes the app's code ambiguous (CS0104) as soon as it adds our namespace.
/// </summary>
public class PublicSurfaceTests
{
    [Fact]
    public void No_public_type_is_named_like_a_public_type_of_the_shared_frameworks()
    {
        var framework = FrameworkTypeNames();
        Assert.Contains("WebApplication", framework.Keys); // the framework's folders were found and read

        var collisions = new[] { typeof(GatewayServiceCollectionExtensions).Assembly, typeof(RedisBackplaneTransport).Assembly }
            .SelectMany(assembly => assembly.GetExportedTypes())
            .Where(type => !type.IsNested && framework.ContainsKey(type.Name))
            .Select(type => $"{type.FullName} (also {string.Join(", ", framework[type.Name].Order(StringComparer.Ordinal))})")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(collisions.Count == 0, "Public types named like a shared framework type:\n" + string.Join('\n', collisions));
    }

    /// <summary>
    /// Metadata names (generic arity included, as C# tells <c>Foo</c> from <c>Foo&lt;T&gt;</c>) of the public top-level
    /// types of Microsoft.AspNetCore.App and Microsoft.NETCore.App, each with the full names that carry it.
    /// </summary>
    private static Dictionary<string, HashSet<string>> FrameworkTypeNames()
    {
        var names = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var folders = new[] { typeof(WebApplication).Assembly.Location, typeof(object).Assembly.Location }.Select(Path.GetDirectoryName);
        foreach (var file in folders.SelectMany(folder => Directory.EnumerateFiles(folder!, "*.dll")))
        {
            using var stream = File.OpenRead(file);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata)
            {
                continue; // a native library
            }

            var reader = pe.GetMetadataReader();
            foreach (var handle in reader.TypeDefinitions)
            {
                var type = reader.GetTypeDefinition(handle);
                if ((type.Attributes & TypeAttributes.VisibilityMask) != TypeAttributes.Public)
                {
                    continue; // nested or internal: a using directive does not bring it in
                }

                var name = reader.GetString(type.Name);
                var space = reader.GetString(type.Namespace);
                if (!names.TryGetValue(name, out var full))
                {
                    names[name] = full = new HashSet<string>(StringComparer.Ordinal);
                }

                full.Add(space.Length == 0 ? name : space + "." + name);
            }
        }

        return names;
    }
}
