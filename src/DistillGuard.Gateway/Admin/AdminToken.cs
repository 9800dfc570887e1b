using System.Security.Cryptography;
using System.Text;

namespace DistillGuard.Gateway.Admin;

/// <summary>The admin bearer token: from <c>DISTILLGUARD_ADMIN_TOKEN</c>, else <c>DATA/admin-token</c>, created on first start.</summary>
/// <remarks>Never logged. The file is created readable by its owner only.</remarks>
public sealed class AdminToken
{
    public const string EnvironmentVariable = "DISTILLGUARD_ADMIN_TOKEN";
    public const string FileName = "admin-token";

    /// <summary>Shortest token accepted from any source (the created one is 43 characters).</summary>
    public const int MinimumLength = 16;

    private readonly byte[] _hash;

    private AdminToken(string value, string source)
    {
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(value));
        Source = source;
    }

    /// <summary>Where the token came from (<c>environment</c>, <c>configuration</c> or the file path), for the start-up message.</summary>
    public string Source { get; }

    /// <summary>Resolves the token, creating the file when neither an override nor the file exists.</summary>
    public static AdminToken Resolve(string dataDirectory, string? configured)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return new AdminToken(RequireLength(fromEnvironment.Trim(), EnvironmentVariable), "environment");
        }

        if (configured is { Length: > 0 })
        {
            return new AdminToken(RequireLength(configured.Trim(), "the configured admin token"), "configuration");
        }

        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length < MinimumLength)
            {
                throw new InvalidOperationException($"{path} holds a token shorter than {MinimumLength} characters; delete it to have a new one created.");
            }

            return new AdminToken(existing, path);
        }

        var token = "dgadm-" + Base64Url(RandomNumberGenerator.GetBytes(32));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(token);
        }

        return new AdminToken(token, path);
    }

    private static string RequireLength(string token, string source) => token.Length >= MinimumLength
        ? token
        : throw new InvalidOperationException($"{source} holds an admin token shorter than {MinimumLength} characters; use a longer one (or unset it to have one created).");

    /// <summary>Compares a presented token in constant time (through fixed-length hashes).</summary>
    public bool Matches(string? presented)
    {
        if (presented is null)
        {
            return false;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(hash, _hash);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
