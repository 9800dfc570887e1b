using DistillGuard.Policy.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.SharedState.Tests.RateLimiting;

/// <summary>
/// What every <see cref="IAdmissionStore"/> does, run against each one: the in-memory store, a real redis-server and
/// Garnet hosted in-process.
/// </summary>
public abstract class AdmissionStoreContract
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    /// <summary>A store over the shared server; each call is a new client, as another gateway replica would be.</summary>
    protected abstract IAdmissionStore CreateStore();

    private static string NewKey() => "{acct_" + Guid.NewGuid().ToString("N")[..12] + "}:key";

    [Fact]
    public async Task TryAdmit_RequestsPerMinute_AdmitsExactlyTheLimitThenRefusesWithRetryAfter()
    {
        var store = CreateStore();
        var key = NewKey();
        var limits = new RateLimits { RequestsPerMinute = 5 };

        var decisions = new List<RateLimitDecision>();
        for (var i = 0; i < 7; i++)
        {
            decisions.Add(await store.TryAdmitAsync(new Admission(key, limits, 1, 0, null, _time.GetUtcNow())));
        }

        Assert.Equal(5, decisions.Count(d => d.Admitted));
        Assert.All(decisions.Skip(5), d => Assert.Equal(RateLimitKind.RequestsPerMinute, d.LimitedBy));
        // One request refills in 60 s / 5 = 12 s.
        Assert.InRange(decisions[5].RetryAfter, TimeSpan.FromSeconds(11.9), TimeSpan.FromSeconds(12.1));
        Assert.Equal(new RateLimitStatus(5, 1, TimeSpan.FromSeconds(48)), decisions[3].Requests);

        _time.Advance(TimeSpan.FromSeconds(12));
        Assert.True((await store.TryAdmitAsync(new Admission(key, limits, 1, 0, null, _time.GetUtcNow()))).Admitted);
    }

    [Fact]
    public async Task TryAdmit_CeilingAboveBalance_RefusesAndDebitsNothing()
    {
        var store = CreateStore();
        var key = NewKey();
        var limits = new RateLimits { TokensPerMinute = 1_000, TokensPerDay = 100_000 };

        var first = await store.TryAdmitAsync(new Admission(key, limits, 1, 600, null, _time.GetUtcNow()));
        var second = await store.TryAdmitAsync(new Admission(key, limits, 1, 600, null, _time.GetUtcNow()));
        var third = await store.TryAdmitAsync(new Admission(key, limits, 1, 400, null, _time.GetUtcNow()));

        Assert.True(first.Admitted);
        Assert.Equal(new RateLimitStatus(1_000, 400, TimeSpan.FromSeconds(36)), first.Tokens);
        Assert.False(second.Admitted);
        Assert.Equal(RateLimitKind.TokensPerMinute, second.LimitedBy);
        Assert.Equal(400, second.Tokens.Remaining);
        Assert.True(third.Admitted);
        Assert.Equal(0, third.Tokens.Remaining);
    }

    [Fact]
    public async Task Settle_UnusedReservation_IsRefundedAndExcessIsDebited()
    {
        var store = CreateStore();
        var key = NewKey();
        var limits = new RateLimits { TokensPerMinute = 1_000 };

        Assert.True((await store.TryAdmitAsync(new Admission(key, limits, 1, 800, null, _time.GetUtcNow()))).Admitted);
        store.Settle(new Settlement(key, limits, 800, 100, null, _time.GetUtcNow()));
        var afterRefund = await store.TryAdmitAsync(new Admission(key, limits, 1, 800, null, _time.GetUtcNow()));
        store.Settle(new Settlement(key, limits, 800, 1_000, null, _time.GetUtcNow()));
        var afterExcess = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, null, _time.GetUtcNow()));

        Assert.True(afterRefund.Admitted);
        Assert.Equal(100, afterRefund.Tokens.Remaining);
        // 100 left, then 200 more than reserved: 100 in debt, so even a zero ceiling waits.
        Assert.False(afterExcess.Admitted);
        Assert.Equal(RateLimitKind.TokensPerMinute, afterExcess.LimitedBy);
        Assert.InRange(afterExcess.RetryAfter, TimeSpan.FromSeconds(5.9), TimeSpan.FromSeconds(6.1));
    }

    [Fact]
    public async Task TryAdmit_AfterHalfAWindow_HalfTheCapacityHasRefilled()
    {
        var store = CreateStore();
        var key = NewKey();
        var limits = new RateLimits { RequestsPerMinute = 10, TokensPerMinute = 10_000 };
        for (var i = 0; i < 10; i++)
        {
            Assert.True((await store.TryAdmitAsync(new Admission(key, limits, 1, 1_000, null, _time.GetUtcNow()))).Admitted);
        }

        _time.Advance(TimeSpan.FromSeconds(30));
        var decision = await store.TryAdmitAsync(new Admission(key, limits, 1, 1_000, null, _time.GetUtcNow()));

        Assert.True(decision.Admitted);
        Assert.Equal(4, decision.Requests.Remaining);
        Assert.Equal(4_000, decision.Tokens.Remaining);
    }

    [Fact]
    public async Task TryAdmit_LeasesFull_RefusesUntilOneIsSettledOrExpires()
    {
        var store = CreateStore();
        var key = NewKey();
        var limits = new RateLimits { ConcurrentRequests = 2 };
        InFlightLease Lease(string id) => new(id, 2, TimeSpan.FromMinutes(5));

        var a = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, Lease("a"), _time.GetUtcNow()));
        var b = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, Lease("b"), _time.GetUtcNow()));
        var c = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, Lease("c"), _time.GetUtcNow()));
        Assert.Equal(2, await store.InFlightAsync(key, _time.GetUtcNow()));
        store.Settle(new Settlement(key, limits, 0, 0, "a", _time.GetUtcNow()));
        var afterSettle = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, Lease("d"), _time.GetUtcNow()));
        // Nobody settles b or d (their gateway died): the places come back when the leases expire.
        _time.Advance(TimeSpan.FromMinutes(5));
        var afterExpiry = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, Lease("e"), _time.GetUtcNow()));

        Assert.True(a.Admitted && b.Admitted);
        Assert.False(c.Admitted);
        Assert.Equal(RateLimitKind.ConcurrentRequests, c.LimitedBy);
        Assert.True(afterSettle.Admitted);
        Assert.True(afterExpiry.Admitted);
        Assert.Equal(1, await store.InFlightAsync(key, _time.GetUtcNow()));
    }

    [Fact]
    public async Task TryAdmit_RefusedByLeases_CountsNeitherRequestNorTokens()
    {
        var store = CreateStore();
        var key = NewKey();
        var limits = new RateLimits { RequestsPerMinute = 3, TokensPerMinute = 300, ConcurrentRequests = 1 };
        var lease = new InFlightLease("held", 1, TimeSpan.FromMinutes(1));
        Assert.True((await store.TryAdmitAsync(new Admission(key, limits, 1, 100, lease, _time.GetUtcNow()))).Admitted);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(RateLimitKind.ConcurrentRequests, (await store.TryAdmitAsync(new Admission(key, limits, 1, 100, lease with { Id = "x" + i }, _time.GetUtcNow()))).LimitedBy);
        }

        store.Settle(new Settlement(key, limits, 100, 100, "held", _time.GetUtcNow()));
        var next = await store.TryAdmitAsync(new Admission(key, limits, 1, 100, lease with { Id = "next" }, _time.GetUtcNow()));
        Assert.True(next.Admitted);
        Assert.Equal(1, next.Requests.Remaining);
        Assert.Equal(100, next.Tokens.Remaining);
    }

    [Fact]
    public async Task TryAdmit_ManyParallelClients_NeverExceedTheLimits()
    {
        // 16 clients (each its own connection, like 16 gateway replicas) race 25 admissions each against one key:
        // 60 requests a minute, and a 10-token ceiling each against 500 tokens a minute.
        var key = NewKey();
        var limits = new RateLimits { RequestsPerMinute = 60, TokensPerMinute = 500, ConcurrentRequests = 4 };
        var now = _time.GetUtcNow();
        var inFlight = 0;
        var mostInFlight = 0;
        var admitted = 0;
        var stores = Enumerable.Range(0, 16).Select(_ => CreateStore()).ToArray();

        await Task.WhenAll(stores.Select((store, client) => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                var id = $"{client}-{i}";
                var decision = await store.TryAdmitAsync(new Admission(key, limits, 1, 10, new InFlightLease(id, 4, TimeSpan.FromMinutes(1)), now));
                if (!decision.Admitted)
                {
                    continue;
                }

                Interlocked.Increment(ref admitted);
                var current = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref mostInFlight, current);
                await Task.Yield();
                Interlocked.Decrement(ref inFlight);
                // Settle only after the local count dropped, so the store's count is never below ours.
                store.Settle(new Settlement(key, limits, 10, 10, id, now));
            }
        })));

        Assert.InRange(admitted, 1, 50);
        Assert.InRange(mostInFlight, 1, 4);
        // Nothing is left in flight; with the leases all settled, the token budget (500 / 10) is what bounded them.
        await WaitForInFlight(stores[0], key, now, 0);
        var residual = await stores[0].TryAdmitAsync(new Admission(key, limits, 0, 10, null, now));
        Assert.Equal(500 - (admitted * 10), residual.Tokens.Remaining + (residual.Admitted ? 10 : 0));
    }

    private static async Task WaitForInFlight(IAdmissionStore store, string key, DateTimeOffset now, int expected)
    {
        // Settlements are sent without waiting for their reply; wait for the last of them to land (bounded).
        for (var i = 0; i < 200 && await store.InFlightAsync(key, now) != expected; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(expected, await store.InFlightAsync(key, now));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
