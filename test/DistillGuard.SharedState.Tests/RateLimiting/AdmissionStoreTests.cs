using DistillGuard.Policy.RateLimiting;
using DistillGuard.SharedState.RateLimiting;
using DistillGuard.SharedState.Tests.Servers;
using StackExchange.Redis;

namespace DistillGuard.SharedState.Tests.RateLimiting;

/// <summary>The contract on the in-memory store of a single gateway: the reference the shared stores must match.</summary>
public sealed class InMemoryAdmissionStoreTests : AdmissionStoreContract
{
    private readonly TokenBucketRateLimiter _store = new();

    protected override IAdmissionStore CreateStore() => _store;
}

/// <summary>One redis-server for the whole test class.</summary>
public sealed class RedisServerFixture : IDisposable
{
    public RedisServerProcess Server { get; } = RedisServerProcess.Start();

    public void Dispose() => Server.Dispose();
}

/// <summary>One in-process Garnet for the whole test class.</summary>
public sealed class GarnetFixture : IDisposable
{
    public GarnetInProcess Server { get; } = GarnetInProcess.Start();

    public void Dispose() => Server.Dispose();
}

/// <summary>Connections a test opened, closed with it.</summary>
public abstract class RedisProtocolContract(string configuration) : AdmissionStoreContract, IDisposable
{
    private readonly List<ConnectionMultiplexer> _connections = [];

    protected string Configuration => configuration;

    protected override IAdmissionStore CreateStore() => new RedisAdmissionStore(Connect());

    protected ConnectionMultiplexer Connect()
    {
        var connection = ConnectionMultiplexer.Connect(configuration);
        lock (_connections)
        {
            _connections.Add(connection);
        }

        return connection;
    }

    [Fact]
    public async Task TryAdmit_KeyNamingItsHashTag_KeepsBucketsAndLeasesOnOneSlot()
    {
        using var connection = Connect();
        var store = new RedisAdmissionStore(connection);
        var limits = new RateLimits { RequestsPerMinute = 10, ConcurrentRequests = 2 };
        var account = "acct_" + Guid.NewGuid().ToString("N")[..8];

        await store.TryAdmitAsync(new Admission("{" + account + "}:key_1", limits, 1, 0, new InFlightLease("l1", 2, TimeSpan.FromMinutes(1)), DateTimeOffset.UtcNow));

        var database = connection.GetDatabase();
        Assert.Equal("dg:rl:{" + account + "}:key_1", store.BucketKey("{" + account + "}:key_1"));
        Assert.Equal("dg:rl:{throttle:" + account + "}", store.BucketKey("throttle:" + account));
        Assert.True(await database.KeyExistsAsync("dg:rl:{" + account + "}:key_1"));
        Assert.True(await database.KeyExistsAsync("dg:rl:{" + account + "}:key_1:in-flight"));
        Assert.Equal(
            connection.GetHashSlot("dg:rl:{" + account + "}:key_1"),
            connection.GetHashSlot("dg:rl:{" + account + "}:key_2:in-flight"));
        // Idle buckets expire on their own after a day and a minute.
        var ttl = await database.KeyTimeToLiveAsync("dg:rl:{" + account + "}:key_1");
        Assert.InRange(ttl!.Value, TimeSpan.FromHours(23), TimeSpan.FromHours(24.1));
    }

    [Fact]
    public async Task TryAdmit_RefusedRequestLimit_IsAnsweredLocallyUntilItsRetryAfter()
    {
        using var connection = Connect();
        var store = new RedisAdmissionStore(connection);
        var limits = new RateLimits { RequestsPerMinute = 2 };
        var key = "{acct_" + Guid.NewGuid().ToString("N")[..8] + "}:key";
        var now = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

        for (var i = 0; i < 3; i++)
        {
            await store.TryAdmitAsync(new Admission(key, limits, 1, 0, null, now));
        }

        var callsBefore = store.ServerCalls;
        var cached = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, null, now.AddSeconds(10)));
        var afterRetry = await store.TryAdmitAsync(new Admission(key, limits, 1, 0, null, now.AddSeconds(30)));

        Assert.False(cached.Admitted);
        Assert.Equal(RateLimitKind.RequestsPerMinute, cached.LimitedBy);
        Assert.InRange(cached.RetryAfter, TimeSpan.FromSeconds(19.9), TimeSpan.FromSeconds(20.1));
        Assert.Equal(1, store.CacheHits);
        Assert.True(afterRetry.Admitted);
        Assert.Equal(callsBefore + 1, store.ServerCalls);
    }

    [Fact]
    public async Task TryAdmit_ServerUnreachable_RefusesAsStoreUnavailable()
    {
        // Nothing listens on this port; the client neither throws nor waits for a connect timeout.
        using var connection = ConnectionMultiplexer.Connect($"127.0.0.1:{RedisServerProcess.FreePort()},abortConnect=false,connectTimeout=200,connectRetry=0");
        var store = new RedisAdmissionStore(connection);
        var limits = new RateLimits { RequestsPerMinute = 5 };

        var decision = await store.TryAdmitAsync(new Admission("{a}:k", limits, 1, 10, null, DateTimeOffset.UtcNow));
        var acquire = store.TryAcquire("{a}:k", limits, DateTimeOffset.UtcNow);
        store.Settle(new Settlement("{a}:k", limits, 10, 5, "lease", DateTimeOffset.UtcNow));

        Assert.False(decision.Admitted);
        Assert.Equal(RateLimitKind.StoreUnavailable, decision.LimitedBy);
        Assert.Equal(RateLimitKind.StoreUnavailable, acquire.LimitedBy);
        Assert.True(store.Unreachable >= 2);
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>The contract on Debian's redis-server.</summary>
public sealed class RedisServerAdmissionStoreTests(RedisServerFixture fixture) : RedisProtocolContract(fixture.Server.Configuration), IClassFixture<RedisServerFixture>;

/// <summary>The contract on Garnet, hosted in this process with Lua enabled.</summary>
public sealed class GarnetAdmissionStoreTests(GarnetFixture fixture) : RedisProtocolContract(fixture.Server.Configuration), IClassFixture<GarnetFixture>;
