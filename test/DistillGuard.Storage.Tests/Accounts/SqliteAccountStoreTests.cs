using System.Text;
using DistillGuard.Storage.Accounts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Storage.Tests.Accounts;

public sealed class SqliteAccountStoreTests : IDisposable
{
    private static readonly byte[] PaymentKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly ScratchDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, 123, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    private SqliteStorage Open() =>
        SqliteStorage.Open(_dir.Path, new StorageOptions { PaymentFingerprintKey = PaymentKey }, _time, NullLoggerFactory.Instance);

    [Fact]
    public async Task Create_IssuesKey_ThatAuthenticates_WithDefaults()
    {
        await using var storage = Open();
        var created = await storage.Accounts.CreateAsync(new NewAccount { Id = "alice@example.com" }, default);

        Assert.Matches("^dg-[A-Za-z0-9_-]{43}$", created.ApiKey);
        Assert.Matches("^key_[0-9a-f]{12}$", created.KeyId);
        Assert.Equal("standard", created.Account.Tier);
        Assert.Equal(_time.GetUtcNow(), created.Account.CreatedAt);

        var authenticated = await storage.Accounts.AuthenticateAsync(created.ApiKey, default);
        Assert.Equal(new AuthenticatedAccount(created.Account, created.KeyId), authenticated);
    }

    [Fact]
    public async Task Authenticate_WrongOrMalformedKey_ReturnsNull()
    {
        await using var storage = Open();
        var created = await storage.Accounts.CreateAsync(new NewAccount { Id = "alice" }, default);

        Assert.Null(await storage.Accounts.AuthenticateAsync(created.ApiKey[..^1] + (created.ApiKey[^1] == 'A' ? 'B' : 'A'), default));
        Assert.Null(await storage.Accounts.AuthenticateAsync("short", default));
        Assert.Null(await storage.Accounts.AuthenticateAsync("", default));
        Assert.Null(await storage.Accounts.AuthenticateAsync(null!, default));
        Assert.Null(await storage.Accounts.AuthenticateAsync(new string('x', 201), default));
    }

    [Fact]
    public async Task Create_SuppliedKeyAndFields_ArePersistedAcrossReopen()
    {
        const string Key = "sk-test-supplied-key-0123456789";
        CreatedAccount created;
        await using (var storage = Open())
        {
            created = await storage.Accounts.CreateAsync(new NewAccount
            {
                Id = "uni:cs-101",
                ApiKey = Key,
                Org = "University",
                Tier = "research",
                Verified = true,
                PaymentFingerprint = "card-4242",
                CreatedAt = new DateTimeOffset(2025, 5, 5, 5, 5, 5, 555, TimeSpan.FromHours(2)),
            }, default);
        }

        await using (var storage = Open())
        {
            var authenticated = await storage.Accounts.AuthenticateAsync(Key, default);
            Assert.NotNull(authenticated);
            Assert.Equal(created.Account, authenticated.Account);
            Assert.Equal(created.KeyId, authenticated.KeyId);
            Assert.Equal(created.Account, await storage.Accounts.GetAsync("uni:cs-101", default));
            Assert.Equal([created.Account], await storage.Accounts.ListAsync(default));
            Assert.Equal("research", created.Account.Tier);
            Assert.True(created.Account.Verified);
            Assert.Null(await storage.Accounts.GetAsync("nobody", default));
        }
    }

    [Fact]
    public async Task Create_PaymentFingerprint_IsStoredAsKeyedHashOnly()
    {
        await using var storage = Open();
        var a = await storage.Accounts.CreateAsync(new NewAccount { Id = "a", PaymentFingerprint = "card-4242-fingerprint" }, default);
        var b = await storage.Accounts.CreateAsync(new NewAccount { Id = "b", PaymentFingerprint = "card-4242-fingerprint" }, default);

        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(PaymentKey, "card-4242-fingerprint"u8));
        Assert.Equal(expected, a.Account.PaymentFingerprintHash);
        Assert.Equal(a.Account.PaymentFingerprintHash, b.Account.PaymentFingerprintHash);  // same card links accounts
        await storage.DisposeAsync();
        Assert.DoesNotContain("card-4242-fingerprint", ReadAllFiles());
    }

    [Fact]
    public async Task Create_PaymentFingerprintWithoutKey_ThrowsInvalidOperation()
    {
        await using var storage = SqliteStorage.Open(_dir.Path, new StorageOptions(), _time, NullLoggerFactory.Instance);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(
            () => storage.Accounts.CreateAsync(new NewAccount { Id = "a", PaymentFingerprint = "card" }, default));
        Assert.Contains("PaymentFingerprintKey", ex.Message);
        Assert.Null(await storage.Accounts.GetAsync("a", default));
    }

    [Fact]
    public async Task Create_DuplicateIdOrKey_ThrowsConflict_AndChangesNothing()
    {
        await using var storage = Open();
        const string Key = "dg-supplied-key-aaaaaaaaaaaaaaaa";
        var first = await storage.Accounts.CreateAsync(new NewAccount { Id = "alice", ApiKey = Key }, default);

        var sameId = await Assert.ThrowsAsync<AccountConflictException>(
            () => storage.Accounts.CreateAsync(new NewAccount { Id = "alice" }, default));
        Assert.Equal("Account 'alice' already exists.", sameId.Message);

        var sameKey = await Assert.ThrowsAsync<AccountConflictException>(
            () => storage.Accounts.CreateAsync(new NewAccount { Id = "bob", ApiKey = Key }, default));
        Assert.Contains(first.KeyId, sameKey.Message);
        Assert.DoesNotContain(Key, sameKey.Message);

        Assert.Null(await storage.Accounts.GetAsync("bob", default));
        Assert.Equal("alice", (await storage.Accounts.AuthenticateAsync(Key, default))!.Account.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    [InlineData("ünicode")]
    public async Task Create_BadId_ThrowsArgumentException(string id)
    {
        await using var storage = Open();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => storage.Accounts.CreateAsync(new NewAccount { Id = id }, default));
        Assert.Contains("is invalid", ex.Message);
        Assert.Contains("^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$", ex.Message);
    }

    [Fact]
    public async Task Create_IdOf129Characters_ThrowsArgumentException()
    {
        await using var storage = Open();
        await storage.Accounts.CreateAsync(new NewAccount { Id = new string('a', 128) }, default);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => storage.Accounts.CreateAsync(new NewAccount { Id = new string('a', 129) }, default));
        Assert.Contains("(129 characters)", ex.Message);
    }

    [Theory]
    [InlineData("too-short-key", "must be 20 to 200 characters long; the supplied key has 13")]
    [InlineData("a key with spaces inside!", "U+0020 at position 1")]
    [InlineData("tab\tinside-the-key-0123456789", "U+0009 at position 3")]
    public async Task Create_BadKey_ThrowsArgumentExceptionWithoutEchoingTheKey(string key, string message)
    {
        await using var storage = Open();
        var ex = await Assert.ThrowsAsync<ArgumentException>(
            () => storage.Accounts.CreateAsync(new NewAccount { Id = "alice", ApiKey = key }, default));
        Assert.Contains(message, ex.Message);
        Assert.DoesNotContain(key, ex.Message);
        Assert.Null(await storage.Accounts.GetAsync("alice", default));
    }

    [Fact]
    public async Task Keys_AreNeverStoredInPlainText()
    {
        const string Supplied = "sk-supplied-plaintext-canary-0123456789";
        string issued;
        await using (var storage = Open())
        {
            await storage.Accounts.CreateAsync(new NewAccount { Id = "alice", ApiKey = Supplied }, default);
            issued = (await storage.Accounts.CreateAsync(new NewAccount { Id = "bob" }, default)).ApiKey;

            // While open (WAL not yet checkpointed) and after close, in every file of the data directory.
            var open = ReadAllFiles();
            Assert.DoesNotContain(Supplied, open);
            Assert.DoesNotContain(issued, open);
        }

        var closed = ReadAllFiles();
        Assert.DoesNotContain(Supplied, closed);
        Assert.DoesNotContain(issued, closed);
        Assert.Contains(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(Supplied))), closed);
    }

    [Fact]
    public async Task Authenticate_ConcurrentWithCreate_SeesEveryCreatedKey()
    {
        await using var storage = Open();
        var creates = Enumerable.Range(0, 50).Select(i => storage.Accounts.CreateAsync(new NewAccount { Id = $"acct-{i}" }, default));
        var created = await Task.WhenAll(creates);
        foreach (var c in created)
        {
            Assert.Equal(c.Account.Id, (await storage.Accounts.AuthenticateAsync(c.ApiKey, default))!.Account.Id);
        }

        Assert.Equal(50, created.Select(c => c.ApiKey).Distinct().Count());
        Assert.Equal(50, (await storage.Accounts.ListAsync(default)).Count);
    }

    [Fact]
    public async Task Open_CreatesMissingDirectory_AndValidatesOptions()
    {
        var nested = Path.Combine(_dir.Path, "a", "b");
        await using (SqliteStorage.Open(nested, new StorageOptions(), _time, NullLoggerFactory.Instance))
        {
            Assert.True(File.Exists(Path.Combine(nested, "usage.db")));
            Assert.True(File.Exists(Path.Combine(nested, "accounts.db")));
        }

        var ex = Assert.Throws<ArgumentException>(
            () => SqliteStorage.Open(nested, new StorageOptions { PaymentFingerprintKey = new byte[8] }, _time, NullLoggerFactory.Instance));
        Assert.Contains("at least 16 bytes; got 8", ex.Message);
    }

    private string ReadAllFiles() =>
        string.Concat(Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories)
            .Select(f => Encoding.Latin1.GetString(ReadShared(f))));

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
