using System.Reflection;

namespace Gateway.Tests.Architecture;

/// <summary>
/// The layers of the core, bottom to top; a namespace may use its own layer's namespaces listed before it and every
/// namespace of the layers below, never one listed after it. Written once here and in the README's layout section.
/// </summary>
public class LayerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Bottom to top. Within a layer, a namespace may use the ones listed before it.</summary>
    public static readonly string[][] Layers =
    [
        ["Gateway.Protocol", "Gateway.Diagnostics", "Gateway.Configuration"],
        ["Gateway.Connections"],
        ["Gateway.Backplane"],
        ["Gateway.Routing", "Gateway.Routing.Handlers", "Gateway.Auth", "Gateway.Topics", "Gateway.Presence", "Gateway.Integrations"],
        ["Gateway.Management", "Gateway.Hosting"],
    ];

    // Registration extensions live in the framework's namespaces so that AddX()/MapX() are found without a using:
    // they compose every part, as Hosting does.
    private static readonly Dictionary<string, string> Composition = new(StringComparer.Ordinal)
    {
        ["Microsoft.Extensions.DependencyInjection"] = "Gateway.Hosting",
        ["Microsoft.AspNetCore.Builder"] = "Gateway.Hosting",
        ["Microsoft.AspNetCore.Hosting"] = "Gateway.Hosting",
    };

    private static readonly Assembly Core = typeof(Gateway.Connections.GatewayConnection).Assembly;

    [Fact]
    public void Every_namespace_of_the_core_has_a_layer()
    {
        var unplaced = Core.GetTypes().Select(t => PartOf(t.Namespace)).Where(n => n is not null && Rank(n) is null).Distinct().ToList();
        Assert.True(unplaced.Count == 0, "namespaces without a layer: " + string.Join(", ", unplaced));
    }

    [Fact]
    public void No_namespace_uses_one_above_it()
    {
        var violations = Violations(Core);
        foreach (var v in violations)
        {
            output.WriteLine(v);
        }

        Assert.True(violations.Count == 0, $"{violations.Count} references point up the layers:\n" + string.Join('\n', violations.Take(60)));
    }

    [Fact]
    public void No_source_file_imports_a_namespace_above_its_own()
    {
        // Constants are copied into their callers by the compiler, so a reference to one leaves no trace in the built
        // assembly; the using directives and qualified names of the source still show it.
        var violations = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Infrastructure.Repository.PathOf("src", "Gateway"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            var own = System.Text.RegularExpressions.Regex.Match(text, @"^namespace ([\w.]+);", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;
            if (PartOf(own) is not { } from || Rank(from) is not { } fromRank)
            {
                continue;
            }

            foreach (System.Text.RegularExpressions.Match used in System.Text.RegularExpressions.Regex.Matches(text, @"^using (Gateway[\w.]*);", System.Text.RegularExpressions.RegexOptions.Multiline))
            {
                if (Rank(used.Groups[1].Value) is { } toRank && toRank.CompareTo(fromRank) > 0)
                {
                    violations.Add($"{Path.GetRelativePath(Infrastructure.Repository.Root, file)} ({from}) imports {used.Groups[1].Value}");
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join('\n', violations));
    }

    [Fact]
    public void The_core_references_no_backplane_client()
    {
        var referenced = Core.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(referenced, n => n.StartsWith("StackExchange.Redis", StringComparison.Ordinal) || n.StartsWith("NATS", StringComparison.Ordinal) || n.StartsWith("Gateway.", StringComparison.Ordinal));
    }

    /// <summary>"A uses B, which is above it" lines, one per (type, used namespace).</summary>
    public static List<string> Violations(Assembly assembly)
    {
        var violations = new List<string>();
        foreach (var (type, used) in TypeReferences.Of(assembly))
        {
            var from = PartOf(type.Namespace);
            if (from is null || Rank(from) is not { } fromRank)
            {
                continue;
            }

            foreach (var group in used.Where(u => u.Assembly == assembly).GroupBy(u => PartOf(u.Namespace)))
            {
                if (group.Key is null || group.Key == from || Rank(group.Key) is not { } toRank)
                {
                    continue;
                }

                if (toRank.CompareTo(fromRank) > 0)
                {
                    violations.Add($"{type.FullName} ({from}) uses {group.Key}: {string.Join(", ", group.Select(t => t.Name).Order(StringComparer.Ordinal))}");
                }
            }
        }

        violations.Sort(StringComparer.Ordinal);
        return violations;
    }

    private static string? PartOf(string? ns) =>
        ns is null ? null
        : Composition.TryGetValue(ns, out var mapped) ? mapped
        : ns.StartsWith("Gateway", StringComparison.Ordinal) ? ns
        : null;

    /// <summary>(layer, position within the layer).</summary>
    private static (int Layer, int Position)? Rank(string ns)
    {
        for (var layer = 0; layer < Layers.Length; layer++)
        {
            var position = Array.IndexOf(Layers[layer], ns);
            if (position >= 0)
            {
                return (layer, position);
            }
        }

        return null;
    }
}
