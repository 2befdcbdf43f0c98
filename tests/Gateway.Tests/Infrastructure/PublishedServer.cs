using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// The server published once per test run, by the Dockerfile's own <c>dotnet publish</c> step (into a temporary
/// folder instead of <c>/app</c>), readable by every user: the build users run and the image carries.
/// </summary>
public static partial class PublishedServer
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder holding <c>Gateway.Server.dll</c> and its <c>appsettings.json</c>.</summary>
    public static Task<string> FolderAsync() => Published.Value;

    /// <summary>The arguments of the Dockerfile's <c>RUN dotnet publish …</c>, with <c>-o /app</c> as it is written.</summary>
    public static string[] DockerfilePublishArguments()
    {
        var dockerfile = File.ReadAllText(Repository.PathOf("docker", "Dockerfile"));
        var publish = PublishStep().Match(dockerfile);
        Assert.True(publish.Success, "the Dockerfile has a dotnet publish step");
        return publish.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A copy of the published folder that a test may change (its settings file, for example).</summary>
    public static async Task<DirectoryInfo> CopyAsync()
    {
        var source = await FolderAsync();
        var copy = Directory.CreateTempSubdirectory("gateway-published-copy-");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy.FullName, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        await RunAsync("chmod", ["-R", "a+rX", copy.FullName]);
        return copy;
    }

    private static async Task<string> PublishAsync()
    {
        var folder = Directory.CreateTempSubdirectory("gateway-published-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(folder, recursive: true); } catch (IOException) { } };
        // $TARGETARCH is the builder's platform argument (amd64, arm64): this machine's, as a local docker build would pass.
        var architecture = RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";
        var arguments = DockerfilePublishArguments().Select(a => a switch { "/app" => folder, "$TARGETARCH" => architecture, _ => a }).ToArray();
        Assert.Contains(folder, arguments);
        var (exit, output) = await RunAsync("dotnet", ["publish", .. arguments]);
        Assert.True(exit == 0, output);
        Assert.True(File.Exists(Path.Combine(folder, "Gateway.Server.dll")), output);
        await RunAsync("chmod", ["-R", "a+rX", folder]);
        return folder;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string[] arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WithTimeout(TimeSpan.FromMinutes(5));
        return (process.ExitCode, $"{file} {string.Join(' ', arguments)} → {process.ExitCode}\n{await stdout}\n{await stderr}");
    }

    [GeneratedRegex(@"^RUN dotnet publish (.+)$", RegexOptions.Multiline)]
    private static partial Regex PublishStep();
}
