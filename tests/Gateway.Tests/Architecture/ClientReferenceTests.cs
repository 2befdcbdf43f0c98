using System.Xml.Linq;
using Gateway.Client;

namespace Gateway.Tests.Architecture;

/// <summary>The client package stands alone: it references no assembly of the server, and signs with the server's own signing source.</summary>
public class ClientReferenceTests
{
    private static readonly System.Reflection.Assembly ClientAssembly = typeof(GatewayClient).Assembly;

    [Fact]
    public void The_client_references_no_server_assembly_and_no_web_framework()
    {
        var referenced = ClientAssembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        string[] server = ["Gateway", "Gateway.Server", "Gateway.Redis", "Gateway.Nats"];
        Assert.Empty(referenced.Intersect(server, StringComparer.Ordinal));
        Assert.DoesNotContain(referenced, n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));

        // Not even at build time: the project has no project reference at all.
        var project = XDocument.Load(Infrastructure.Repository.PathOf("src", "Gateway.Client", "Gateway.Client.csproj"));
        Assert.Empty(project.Descendants("ProjectReference"));
        Assert.DoesNotContain(project.Descendants("FrameworkReference"), f => (string?)f.Attribute("Include") == "Microsoft.AspNetCore.App");
    }

    [Fact]
    public void Client_and_server_compile_the_one_signing_file()
    {
        var project = XDocument.Load(Infrastructure.Repository.PathOf("src", "Gateway.Client", "Gateway.Client.csproj"));
        var linked = project.Descendants("Compile").Select(c => (string?)c.Attribute("Include")).ToList();
        Assert.Contains("../Gateway/Auth/SigV4Signing.cs", linked);
        Assert.NotNull(ClientAssembly.GetType("Gateway.Auth.SigV4Signing"));
        Assert.NotNull(typeof(Gateway.Auth.SignatureV4).Assembly.GetType("Gateway.Auth.SigV4Signing"));

        // The verifier keeps no signing arithmetic of its own.
        var verifier = File.ReadAllText(Infrastructure.Repository.PathOf("src", "Gateway", "Auth", "SignatureV4.cs"));
        Assert.DoesNotContain("HMACSHA256", verifier, StringComparison.Ordinal);
        Assert.DoesNotContain("\"AWS4\"", verifier, StringComparison.Ordinal);
    }
}
