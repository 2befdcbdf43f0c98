namespace Gateway.Nats;

/// <summary>The <c>Gateway:Nats:Tls</c> section: TLS to the NATS servers (a <c>tls://</c> URL asks for it too).</summary>
public sealed class NatsTlsOptions
{
    /// <summary><c>Auto</c> (TLS when the server asks for it or the URL is <c>tls://</c>), <c>Require</c>, <c>Implicit</c> (TLS first, before the server's greeting) or <c>Disable</c>.</summary>
    public NatsTlsMode Mode { get; set; } = NatsTlsMode.Auto;

    /// <summary>A PEM file of the authorities that sign the servers' certificates (else the system's).</summary>
    public string? CaFile { get; set; }

    /// <summary>A PEM client certificate, for servers that verify clients (with <see cref="KeyFile"/>).</summary>
    public string? CertFile { get; set; }

    /// <summary>The PEM private key of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Accept any server certificate: for tests only.</summary>
    public bool InsecureSkipVerify { get; set; }
}
