using DistillGuard.Storage.Policy;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Storage.Tests.Policy;

public sealed class SqlitePolicyStoreTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "dg-policy-" + Guid.NewGuid().ToString("N"));

    private SqlitePolicyStore Open() => SqlitePolicyStore.Open(_directory, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task Overrides_AreSetReplacedRemoved_EachWithAnAuditRecord()
    {
        await using (var store = Open())
        {
            await store.SetOverrideAsync(new AccountOverride("acct", "allowlisted", "ana", "known lab", s_t0, null), Audit("acct", "account:allowlist"), default);
            await store.SetOverrideAsync(new AccountOverride("acct", "suspended", "ana", "confirmed harvester", s_t0.AddHours(1), "friction"), Audit("acct", "account:block"), default);
            var overrides = await store.ListOverridesAsync(default);
            Assert.Equal("suspended", Assert.Single(overrides).Status);
        }

        await using (var reopened = Open())
        {
            Assert.Equal("friction", Assert.Single(await reopened.ListOverridesAsync(default)).Band);
            await reopened.RemoveOverrideAsync("acct", Audit("acct", "account:clear"), default);
            Assert.Empty(await reopened.ListOverridesAsync(default));
            var audit = await reopened.ListAuditAsync("acct", 10, default);
            Assert.Equal(["account:clear", "account:block", "account:allowlist"], audit.Select(a => a.Action));
        }
    }

    [Fact]
    public async Task Review_OpensOncePerAccount_AndDecisionsAreRecorded()
    {
        await using var store = Open();
        var item = new ReviewItem(0, "acct", s_t0, "review", 0.7, """{"reasons":["template_concentration"]}""", "open");
        var (first, created) = await store.OpenReviewAsync(item, Audit("acct", "review:open"), default);
        var (second, createdAgain) = await store.OpenReviewAsync(item with { Band = "friction" }, Audit("acct", "review:open"), default);
        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(first.Id, second.Id);

        var decided = await store.DecideReviewAsync(first.Id, "approved", "ana", "confirmed", s_t0.AddHours(2), Audit("acct", "review:approve"), default);
        Assert.Equal("approved", decided.Status);
        Assert.Equal("ana", decided.Actor);
        Assert.Single(await store.ListReviewAsync("approved", 10, default));
        Assert.Empty(await store.ListReviewAsync("open", 10, default));

        // Once decided, a new episode opens a new entry.
        var (third, createdThird) = await store.OpenReviewAsync(item, Audit("acct", "review:open"), default);
        Assert.True(createdThird);
        Assert.NotEqual(first.Id, third.Id);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.DecideReviewAsync(999, "approved", "ana", "x", s_t0, Audit("acct", "x"), default));
    }

    private static AuditRecord Audit(string account, string action) => new(0, s_t0, account, "ana", action, "test", null);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
