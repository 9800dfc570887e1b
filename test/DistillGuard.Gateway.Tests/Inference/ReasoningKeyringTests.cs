using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Policy.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Gateway.Tests.Inference;

public sealed class ReasoningKeyringTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "dg-keys-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SealRule _rule = new() { LifetimeHours = 24, KeyRotationDays = 7 };

    public ReasoningKeyringTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ReasoningKeyring Keyring() => new(_directory, _time, () => _rule);

    [Fact]
    public void Seal_ThenOpen_GivesTheReasoningBack_AndTheBlobHidesIt()
    {
        var keyring = Keyring();
        var blob = keyring.Seal("acct-1", "First, factor the number. Then check each prime.");

        Assert.DoesNotContain("factor", blob, StringComparison.Ordinal);
        Assert.Equal("First, factor the number. Then check each prime.", keyring.Open("acct-1", blob, "p"));
        // Every seal draws a fresh nonce: the same reasoning twice is two different blobs.
        Assert.NotEqual(blob, keyring.Seal("acct-1", "First, factor the number. Then check each prime."));
    }

    [Fact]
    public void Open_RefusesAlteredForeignGarbageAndExpiredBlobs()
    {
        var keyring = Keyring();
        var blob = keyring.Seal("acct-1", "a plan");
        var bytes = Convert.FromBase64String(blob);

        for (var at = 0; at < bytes.Length; at += 7)
        {
            var altered = (byte[])bytes.Clone();
            altered[at] ^= 0x20;
            var refused = Assert.Throws<OpenAIErrorException>(() => keyring.Open("acct-1", Convert.ToBase64String(altered), "p"));
            Assert.Equal((400, "invalid_encrypted_content", "p"), (refused.Status, refused.Code, refused.Param));
        }

        Assert.Equal("invalid_encrypted_content", Assert.Throws<OpenAIErrorException>(() => keyring.Open("acct-2", blob, "p")).Code);
        Assert.Equal("invalid_encrypted_content", Assert.Throws<OpenAIErrorException>(() => keyring.Open("acct-1", "not base64 at all!", "p")).Code);
        Assert.Equal("invalid_encrypted_content", Assert.Throws<OpenAIErrorException>(() => keyring.Open("acct-1", Convert.ToBase64String(bytes[..20]), "p")).Code);

        _time.Advance(TimeSpan.FromHours(24));
        Assert.Equal("encrypted_content_expired", Assert.Throws<OpenAIErrorException>(() => keyring.Open("acct-1", blob, "p")).Code);
    }

    [Fact]
    public void Rotation_NewKeySeals_OldKeyOpensUntilItsBlobsExpire_ThenIsDropped()
    {
        var keyring = Keyring();
        _ = keyring.Seal("acct-1", "the first key is made by the first seal");
        _time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        var old = keyring.Seal("acct-1", "sealed with the first key");
        _time.Advance(TimeSpan.FromMinutes(2));
        var fresh = keyring.Seal("acct-1", "sealed with the second key");

        Assert.Equal(2, keyring.Keys.Count);
        Assert.NotEqual(Convert.FromBase64String(old)[1..9], Convert.FromBase64String(fresh)[1..9]);
        Assert.Equal("sealed with the first key", keyring.Open("acct-1", old, "p"));

        // A restarted gateway reads the same keys from the data directory.
        var restarted = Keyring();
        Assert.Equal("sealed with the first key", restarted.Open("acct-1", old, "p"));
        Assert.Equal("sealed with the second key", restarted.Open("acct-1", fresh, "p"));

        // Past the second key's rotation, the first key has outlived every blob it sealed: it is dropped.
        _time.Advance(TimeSpan.FromDays(7));
        _ = restarted.Seal("acct-1", "third");
        Assert.Equal(2, restarted.Keys.Count);
        Assert.Equal("invalid_encrypted_content", Assert.Throws<OpenAIErrorException>(() => restarted.Open("acct-1", old, "p")).Code);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"keys":[{"id":"00","created":"2026-06-01T00:00:00Z","secret":"AAAA"}]}""")]
    [InlineData("""{"other":[]}""")]
    public void BrokenKeyFile_StopsStartUp_NamingTheFile(string content)
    {
        var path = Path.Combine(_directory, ReasoningKeyring.FileName);
        File.WriteAllText(path, content);
        var error = Assert.Throws<DistillGuard.Gateway.Hosting.GatewayConfigException>(Keyring);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyFile_IsOwnerOnly()
    {
        _ = Keyring().Seal("acct-1", "x");
        var path = Path.Combine(_directory, ReasoningKeyring.FileName);
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }
}
