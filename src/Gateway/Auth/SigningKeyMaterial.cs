using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Auth;

/// <summary>
/// The signing keys of one key list, made ready once to check HS256, RS256 and ES256 signatures directly: an HMAC
/// secret's bytes, and RSA and ECDsa public keys of their own (a few per key, since one instance serves one check at a
/// time). Keys of other kinds and sizes are left out: a token they would sign goes to the general handler.
/// </summary>
internal sealed class SigningKeyMaterial
{
    private readonly Entry[] _entries;

    private SigningKeyMaterial(IReadOnlyList<SecurityKey> source, Entry[] entries)
    {
        Source = source;
        _entries = entries;
    }

    /// <summary>The key list this was made from (a new list from the key source means new material).</summary>
    public IReadOnlyList<SecurityKey> Source { get; }

    /// <summary>Makes the material of <paramref name="keys"/>.</summary>
    public static SigningKeyMaterial For(IReadOnlyList<SecurityKey> keys)
    {
        var entries = new List<Entry>();
        foreach (var key in keys)
        {
            try
            {
                if (Entry.Of(key) is { } entry)
                {
                    entries.Add(entry);
                }
            }
            catch (CryptographicException)
            {
                // A key this cannot take in stays the general handler's.
            }
        }

        return new SigningKeyMaterial(keys, [.. entries]);
    }

    /// <summary>
    /// True when a key of the token's algorithm verifies its signature: first those whose id the token names, then the
    /// others (the general handler tries every key too, so this accepts no token it would refuse).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Verifies(CompactJws jws)
    {
        var kid = string.IsNullOrEmpty(jws.KeyId) ? null : jws.KeyId;
        foreach (var entry in _entries)
        {
            if (entry.Algorithm == jws.Algorithm && (kid is null || string.Equals(entry.KeyId, kid, StringComparison.Ordinal)) && entry.Verify(jws.SignedInput, jws.Signature))
            {
                return true;
            }
        }

        if (kid is not null)
        {
            foreach (var entry in _entries)
            {
                if (entry.Algorithm == jws.Algorithm && !string.Equals(entry.KeyId, kid, StringComparison.Ordinal) && entry.Verify(jws.SignedInput, jws.Signature))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private abstract class Entry(string algorithm, string? keyId)
    {
        public string Algorithm { get; } = algorithm;

        public string? KeyId { get; } = keyId;

        public static Entry? Of(SecurityKey key) => key switch
        {
            // HS256 with secrets of at least 256 bits; the handler takes shorter ones too, and still decides those.
            SymmetricSecurityKey { Key.Length: >= 32 } symmetric => new Hmac(symmetric.Key, key.KeyId),
            RsaSecurityKey rsa => Rsa.Of(rsa),
            ECDsaSecurityKey { ECDsa: { } ec } => Ec.Of(ec, key.KeyId),
            _ => null,
        };

        public abstract bool Verify(ReadOnlySpan<byte> input, ReadOnlySpan<byte> signature);
    }

    private sealed class Hmac(byte[] key, string? keyId) : Entry("HS256", keyId)
    {
        // Keyed HMAC states, reset after each use: a one-shot HMAC sets its digest up by name every time (OpenSSL looks
        // the algorithm up again), which costs more than hashing a token.
        private readonly Pool<IncrementalHash> _pool = new(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override bool Verify(ReadOnlySpan<byte> input, ReadOnlySpan<byte> signature)
        {
            if (signature.Length != HMACSHA256.HashSizeInBytes)
            {
                return false;
            }

            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            var hmac = _pool.Take();
            try
            {
                hmac.AppendData(input);
                if (!hmac.TryGetHashAndReset(mac, out var written) || written != mac.Length)
                {
                    return false;
                }
            }
            catch
            {
                // A state that failed mid-way is not given back.
                hmac.Dispose();
                throw;
            }

            _pool.Give(hmac);
            return CryptographicOperations.FixedTimeEquals(mac, signature);
        }
    }

    private sealed class Rsa(RSAParameters parameters, int size, string? keyId) : Entry("RS256", keyId)
    {
        private readonly Pool<RSA> _pool = new(() => RSA.Create(parameters));

        public static Rsa? Of(RsaSecurityKey key)
        {
            var parameters = key.Rsa is { } rsa ? rsa.ExportParameters(false) : key.Parameters;
            if (parameters.Modulus is null || parameters.Exponent is null)
            {
                return null;
            }

            var only = new RSAParameters { Modulus = parameters.Modulus, Exponent = parameters.Exponent };
            using var probe = RSA.Create(only);
            // 2048 bits and more: the handler's own floor is lower, and it decides the smaller keys itself.
            return probe.KeySize >= 2048 ? new Rsa(only, probe.KeySize / 8, key.KeyId) : null;
        }

        public override bool Verify(ReadOnlySpan<byte> input, ReadOnlySpan<byte> signature)
        {
            if (signature.Length != size)
            {
                return false;
            }

            var rsa = _pool.Take();
            try
            {
                return rsa.VerifyData(input, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            }
            finally
            {
                _pool.Give(rsa);
            }
        }
    }

    private sealed class Ec(ECParameters parameters, string? keyId) : Entry("ES256", keyId)
    {
        private readonly Pool<ECDsa> _pool = new(() => ECDsa.Create(parameters));

        public static Ec? Of(ECDsa key, string? keyId)
        {
            // P-256 only, the curve ES256 names; a key on another curve stays the general handler's.
            var parameters = key.ExportParameters(false);
            return parameters.Curve.IsNamed && (parameters.Curve.Oid.Value == "1.2.840.10045.3.1.7" || parameters.Curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256")
                ? new Ec(parameters, keyId)
                : null;
        }

        public override bool Verify(ReadOnlySpan<byte> input, ReadOnlySpan<byte> signature)
        {
            if (signature.Length != 64)
            {
                return false;
            }

            var ec = _pool.Take();
            try
            {
                return ec.VerifyData(input, signature, HashAlgorithmName.SHA256);
            }
            finally
            {
                _pool.Give(ec);
            }
        }
    }

    /// <summary>A few instances kept for reuse: taken by one check at a time, made when none is free.</summary>
    private sealed class Pool<T>(Func<T> create)
        where T : class, IDisposable
    {
        private readonly T?[] _kept = new T?[Math.Max(2, Environment.ProcessorCount)];

        public T Take()
        {
            for (var i = 0; i < _kept.Length; i++)
            {
                if (Interlocked.Exchange(ref _kept[i], null) is { } item)
                {
                    return item;
                }
            }

            return create();
        }

        public void Give(T item)
        {
            for (var i = 0; i < _kept.Length; i++)
            {
                if (Interlocked.CompareExchange(ref _kept[i], item, null) is null)
                {
                    return;
                }
            }

            item.Dispose();
        }
    }
}
