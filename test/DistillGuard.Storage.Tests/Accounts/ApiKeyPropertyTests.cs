using CsCheck;
using DistillGuard.Storage.Accounts;

namespace DistillGuard.Storage.Tests.Accounts;

public sealed class ApiKeyPropertyTests
{
    [Fact]
    public void Validate_AcceptsExactlyThe20To200PrintableAsciiKeys()
    {
        Gen.String[Gen.Char, 0, 220].Sample(key =>
        {
            var valid = key.Length is >= 20 and <= 200 && key.All(c => c is >= '!' and <= '~');
            Assert.Equal(valid, ApiKey.IsWellFormed(key));
            if (valid)
            {
                ApiKey.Validate(key, "key");
            }
            else
            {
                Assert.Throws<ArgumentException>(() => ApiKey.Validate(key, "key"));
            }
        });
    }

    [Fact]
    public void Hash_IsSha256Hex_AndKeyIdIsItsPrefix()
    {
        Gen.String[Gen.Char['!', '~'], 20, 200].Sample(key =>
        {
            var hash = ApiKey.Hash(key);
            var hex = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(key)));
            Assert.Equal(hex, hash.ToHex());
            Assert.Equal(hash, KeyHash.FromHex(hex));
            Assert.Equal("key_" + hex[..12], hash.KeyId());
        });
    }

    [Fact]
    public void Issue_IsWellFormedAndUnique()
    {
        var keys = Enumerable.Range(0, 1_000).Select(_ => ApiKey.Issue()).ToList();
        Assert.All(keys, k => Assert.True(ApiKey.IsWellFormed(k)));
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void AccountId_MatchesThePatternExactly()
    {
        var allowed = Gen.Char.AlphaNumeric;
        var special = Gen.Char["._@:- /#é"];
        Gen.String[Gen.Frequency((5, allowed), (1, special)), 0, 140].Sample(id =>
        {
            var valid = System.Text.RegularExpressions.Regex.IsMatch(id, "^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$")
                && id.Length <= 128;
            if (valid)
            {
                SqliteAccountStore.ValidateAccountId(id, "id");
            }
            else
            {
                Assert.Throws<ArgumentException>(() => SqliteAccountStore.ValidateAccountId(id, "id"));
            }
        });
    }
}
