using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Hosting;

/// <summary>
/// What a team that hosts the library does: takes the packages, starts from <c>dotnet new web</c>, writes the README's
/// <c>Program.cs</c>, and runs it. The example comes from the README itself, so the two cannot drift apart.
/// </summary>
[Collection(SerialProcesses.Name)]
public partial class PackageTests
{
    private const string Section = "Hosting it in your own application";
    private static readonly TimeSpan Build = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task The_README_example_builds_in_a_new_web_app_from_the_packages_and_answers_over_a_WebSocket()
    {
        var (program, packageIds) = ReadmeExample();
        var root = Path.Combine(Path.GetTempPath(), "gateway-package-" + Guid.NewGuid().ToString("N")[..8]);
        var feed = Path.Combine(root, "feed");
        var packages = Path.Combine(root, "packages");
        var app = Path.Combine(root, "app");
        Directory.CreateDirectory(root);
        try
        {
            // Pack in the configuration the tests were built in, so the build before packing has nothing to do.
            var configuration = typeof(PackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            await DotnetAsync(Repository.Root, Build, "pack", Repository.PathOf("src", "Gateway.Redis", "Gateway.Redis.csproj"), "-c", configuration, "-o", feed);
            await DotnetAsync(Repository.Root, Build, "pack", Repository.PathOf("src", "Gateway.Nats", "Gateway.Nats.csproj"), "-c", configuration, "-o", feed);
            await DotnetAsync(Repository.Root, Build, "pack", Repository.PathOf("src", "Gateway", "Gateway.csproj"), "-c", configuration, "--no-build", "-o", feed);
            var versions = packageIds.ToDictionary(id => id, id => PackedVersion(feed, id));

            // Outside the repository, so that its Directory.Build.props and central package versions do not apply.
            await DotnetAsync(root, TimeSpan.FromMinutes(1), "new", "web", "-n", "ChatApp", "-o", app, "--no-restore");
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
            var project = Path.Combine(app, "ChatApp.csproj");
            var references = string.Concat(versions.Select(p => $"    <PackageReference Include=\"{p.Key}\" Version=\"{p.Value}\" />\n"));
            var csproj = await File.ReadAllTextAsync(project);
            await File.WriteAllTextAsync(project, csproj.Replace("</Project>", $"  <ItemGroup>\n{references}  </ItemGroup>\n</Project>", StringComparison.Ordinal));

            // A packages folder of its own, so that only this run's packages can be used; what the repository's restore
            // already fetched (the packages' dependencies) is taken from the user's folder without downloading it again.
            // A README example that warns in a new app is a defect too. NuGet's audit is left out: it asks nuget.org for
            // advisories, which is a warning (so here an error) on a machine without a network.
            await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), NuGetConfig(feed, packages));
            await DotnetAsync(app, Build, "build", "-nodeReuse:false", "-p:TreatWarningsAsErrors=true", "-p:NuGetAudit=false");
            foreach (var (id, version) in versions)
            {
                Assert.True(
                    Directory.Exists(Path.Combine(packages, id.ToLowerInvariant(), version)),
                    $"{id} {version} was not restored from this run's packages; an older copy in {UserPackagesFolder()} shadows it (delete it there)");
            }

            // The built app as `dotnet run` would start it (its folder the content root), on a port of its choosing.
            var output = new ConcurrentQueue<string>();
            var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            var start = new ProcessStartInfo("dotnet", [Path.Combine(app, "bin", "Debug", "net10.0", "ChatApp.dll"), "--urls", "http://127.0.0.1:0"])
            {
                WorkingDirectory = app,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var server = Process.Start(start)!;
            DataReceivedEventHandler read = (_, e) =>
            {
                if (e.Data is null)
                {
                    listening.TrySetException(new InvalidOperationException("the app ended:\n" + string.Join('\n', output)));
                    return;
                }

                output.Enqueue(e.Data);
                if (ListeningLine().Match(e.Data) is { Success: true } line)
                {
                    listening.TrySetResult(new Uri(line.Groups[1].Value));
                }
            };
            server.OutputDataReceived += read;
            server.ErrorDataReceived += read;
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            try
            {
                var address = await listening.Task.WithTimeout(TimeSpan.FromSeconds(30));
                await using var client = await TestClient.ConnectAsync(new Uri($"ws://{address.Authority}/"));

                await client.SendTextAsync("""{"action":"sendmessage","text":"hi"}""");
                Assert.Equal($$"""{{client.Id}} said: {"action":"sendmessage","text":"hi"}""", await client.ReceiveTextAsync());
                await client.SendTextAsync("hello");
                Assert.Equal("hello", await client.ReceiveTextAsync());
            }
            finally
            {
                if (!server.HasExited)
                {
                    server.Kill(entireProcessTree: true);
                }

                await server.WaitForExitAsync().WithTimeout();
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The README section's one C# block (a whole <c>Program.cs</c>) and the packages its <c>dotnet add package</c> lines name.</summary>
    private static (string Program, List<string> PackageIds) ReadmeExample()
    {
        var lines = File.ReadAllLines(Repository.PathOf("README.md"));
        var start = Array.IndexOf(lines, "## " + Section);
        Assert.True(start >= 0, $"the README has no section \"{Section}\"");
        var programs = new List<string>();
        var packageIds = new List<string>();
        var block = new StringBuilder();
        string? fence = null;
        foreach (var line in lines.Skip(start + 1))
        {
            if (fence is null && line.StartsWith('#'))
            {
                break; // the next heading, of any level, ends the section
            }

            if (fence is null && line.StartsWith("```", StringComparison.Ordinal))
            {
                fence = line[3..].Trim();
                block.Clear();
            }
            else if (fence is not null && line.StartsWith("```", StringComparison.Ordinal))
            {
                if (fence == "csharp")
                {
                    programs.Add(block.ToString());
                }

                fence = null;
            }
            else if (fence is not null)
            {
                block.AppendLine(line);
                if (fence == "sh" && AddPackage().Match(line) is { Success: true } add)
                {
                    packageIds.Add(add.Groups[1].Value);
                }
            }
        }

        Assert.True(programs.Count == 1, $"the README section \"{Section}\" should show one C# block, a whole Program.cs; it shows {programs.Count}");
        Assert.Equal(["WebSocketApiGateway.AspNetCore", "WebSocketApiGateway.Nats", "WebSocketApiGateway.Redis"], packageIds.Order(StringComparer.Ordinal));
        return (programs[0], packageIds);
    }

    /// <summary>The version of the one package of <paramref name="id"/> in the feed.</summary>
    private static string PackedVersion(string feed, string id)
    {
        var names = Directory.GetFiles(feed, id + ".*.nupkg")
            .Select(Path.GetFileName)
            .Select(name => name![(id.Length + 1)..^".nupkg".Length])
            .Where(version => char.IsAsciiDigit(version[0])) // WebSocketApiGateway.AspNetCore.1.0.0, not a longer id
            .ToList();
        Assert.True(names.Count == 1, $"expected one package {id} in the feed, found: {string.Join(", ", Directory.GetFiles(feed))}");
        return names[0];
    }

    private static string UserPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string NuGetConfig(string feed, string packages)
    {
        var fallback = Directory.Exists(UserPackagesFolder())
            ? $"""<fallbackPackageFolders><add key="user" value="{UserPackagesFolder()}" /></fallbackPackageFolders>"""
            : "";
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{packages}" /></config>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              {fallback}
            </configuration>
            """;
    }

    /// <summary>Runs the .NET CLI and fails with its output unless it exits with 0.</summary>
    private static async Task DotnetAsync(string directory, TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet", arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WithTimeout(timeout);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var output = await stdout.WithTimeout() + await stderr.WithTimeout();
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
    }

    [GeneratedRegex(@"Now listening on: (http://[^\s""]+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"^dotnet add package (\S+)")]
    private static partial Regex AddPackage();
}
