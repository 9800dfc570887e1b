using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace DistillGuard.ThreatIntel.Signing;

/// <summary>A producer's ECDSA P-256 signing key (ES256), kept as PKCS#8 PEM.</summary>
/// <remarks>
/// ECDSA P-256 because .NET 10 implements it natively on every platform (Ed25519 it does not). The key id is the first
/// 16 bytes of the SHA-256 of the public key's SubjectPublicKeyInfo, base64url: a receiver looks the partner's key up by it.
/// </remarks>
public sealed class SigningKey : IDisposable
{
    private readonly ECDsa _key;

    private SigningKey(ECDsa key)
    {
        _key = key;
        PublicKey = VerificationKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>The public half, to give to partners.</summary>
    public VerificationKey PublicKey { get; }

    public string KeyId => PublicKey.KeyId;

    /// <summary>A new random key.</summary>
    public static SigningKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Reads a PKCS#8 PEM private key; throws <see cref="CryptographicException"/> when it is not a P-256 key.</summary>
    public static SigningKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new CryptographicException("The signing key must be ECDSA P-256.");
        }

        return new SigningKey(key);
    }

    /// <summary>The key in <paramref name="path"/>, created (mode 600 where supported) when the file does not exist.</summary>
    public static SigningKey LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return FromPem(File.ReadAllText(path));
        }

        var key = Generate();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, key.ExportPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return key;
    }

    public string ExportPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>A detached JWS (RFC 7515 Appendix F, compact form <c>header..signature</c>) over the canonical bytes.</summary>
    public string SignDetached(ReadOnlySpan<byte> canonical)
    {
        var header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{{\"alg\":\"ES256\",\"kid\":\"{KeyId}\"}}"));
        var signature = _key.SignData(DetachedSignature.SigningInput(header, canonical), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return header + ".." + Base64Url.EncodeToString(signature);
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>A partner's public key, as SubjectPublicKeyInfo PEM.</summary>
public sealed class VerificationKey
{
    private readonly byte[] _spki;

    private VerificationKey(byte[] spki)
    {
        _spki = spki;
        KeyId = Base64Url.EncodeToString(SHA256.HashData(spki).AsSpan(0, 16));
    }

    public string KeyId { get; }

    public static VerificationKey FromSubjectPublicKeyInfo(byte[] spki)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(spki, out _);
        return key.KeySize == 256 ? new VerificationKey(spki) : throw new CryptographicException("A partner key must be ECDSA P-256.");
    }

    /// <summary>Reads a <c>-----BEGIN PUBLIC KEY-----</c> PEM.</summary>
    public static VerificationKey FromPem(string pem)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo());
    }

    public string ExportPem() => PemEncoding.WriteString("PUBLIC KEY", _spki);

    /// <summary>True when <paramref name="signature"/> is this key's ES256 detached JWS over <paramref name="canonical"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> canonical, string signature)
    {
        if (!DetachedSignature.TryParse(signature, out var header, out var kid, out var sig) || kid != KeyId)
        {
            return false;
        }

        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(_spki, out _);
        return key.VerifyData(DetachedSignature.SigningInput(header, canonical), sig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }
}

/// <summary>Parsing of detached ES256 JWS values.</summary>
public static class DetachedSignature
{
    /// <summary>The HTTP header that carries a detached signature next to a TAXII body.</summary>
    public const string Header = "X-DistillGuard-Signature";

    /// <summary>The key id a signature claims, or null when it is not an ES256 detached JWS.</summary>
    public static string? KeyIdOf(string? signature) => TryParse(signature, out _, out var kid, out _) ? kid : null;

    internal static bool TryParse(string? value, out string header, out string keyId, out byte[] signature)
    {
        header = keyId = "";
        signature = [];
        var parts = value?.Split('.');
        if (parts is not { Length: 3 } || parts[1].Length != 0)
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            if (json.RootElement.ValueKind != JsonValueKind.Object
                || !json.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "ES256"
                || !json.RootElement.TryGetProperty("kid", out var kid) || kid.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            header = parts[0];
            keyId = kid.GetString()!;
            signature = Base64Url.DecodeFromChars(parts[2]);
            return signature.Length == 64;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return false;
        }
    }

    /// <summary>ASCII(header) ‖ "." ‖ ASCII(base64url(payload)), the JWS signing input.</summary>
    internal static byte[] SigningInput(string header, ReadOnlySpan<byte> payload) =>
        Encoding.ASCII.GetBytes(header + "." + Base64Url.EncodeToString(payload));
}
