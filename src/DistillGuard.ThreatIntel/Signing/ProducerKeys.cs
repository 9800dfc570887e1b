using System.Security.Cryptography;
using DistillGuard.ThreatIntel.Indicators;

namespace DistillGuard.ThreatIntel.Signing;

/// <summary>A provider's threat-intel secrets, kept under <c>DATA/intel/</c>: signing key, sharing-group key and the id secret.</summary>
/// <remarks>Created on first use with owner-only permissions. The sharing-group key is replaced by the group's agreed key (same file, base64).</remarks>
public sealed class ProducerKeys : IDisposable
{
    public const string Folder = "intel";

    private ProducerKeys(SigningKey signing, SharingKey sharing, byte[] idSecret)
    {
        Signing = signing;
        Sharing = sharing;
        IdSecret = idSecret;
    }

    public SigningKey Signing { get; }

    public SharingKey Sharing { get; }

    /// <summary>Keys our STIX ids, so that they cannot be traced back to campaign or account ids.</summary>
    public byte[] IdSecret { get; }

    /// <summary>The keys of the data directory <paramref name="dataDirectory"/>, created where missing.</summary>
    public static ProducerKeys LoadOrCreate(string dataDirectory)
    {
        var folder = Path.Combine(dataDirectory, Folder);
        Directory.CreateDirectory(folder);
        var signing = SigningKey.LoadOrCreate(Path.Combine(folder, "signing-key.pem"));
        var sharing = SharingKey.LoadOrCreate(Path.Combine(folder, "sharing-group.key"));
        var secretPath = Path.Combine(folder, "id-secret");
        if (!File.Exists(secretPath))
        {
            File.WriteAllText(secretPath, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(secretPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        return new ProducerKeys(signing, sharing, Convert.FromBase64String(File.ReadAllText(secretPath).Trim()));
    }

    public void Dispose() => Signing.Dispose();
}
