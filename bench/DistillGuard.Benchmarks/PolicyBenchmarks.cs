using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Usage;
using DistillGuard.Policy.Configuration;
using DistillGuard.Policy.Ladder;
using DistillGuard.Policy.RateLimiting;
using DistillGuard.Storage.Accounts;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Benchmarks;

/// <summary>
/// The policy's cost on the request path: the cached-decision lookup and enforcement for an untouched account, a
/// throttled one (token buckets) and a reduced one (request reshaping), against a bare dictionary lookup.
/// </summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    internal const int Accounts = 10_000;
    private readonly ConcurrentDictionary<string, string> _baseline = new(StringComparer.Ordinal);
    private PolicyState _state = null!;
    private PolicyEnforcement _enforcement = null!;
    private DefaultHttpContext _context = null!;
    private RequestUsage _quiet = null!;
    private RequestUsage _throttled = null!;
    private RequestUsage _campaignMember = null!;
    private PolicyDocument _policy = null!;
    private AccountStanding _standing = null!;
    private RiskInput _risk = null!;
    private readonly string[] _ids = [.. Enumerable.Range(0, Accounts).Select(i => "acct-" + i)];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _policy = new PolicyDocument { Throttle = new ThrottleRule { Account = new RateLimits { RequestsPerMinute = 1_000_000_000 } } };
        (_state, _enforcement) = Population(_baseline);

        _context = new DefaultHttpContext();
        _quiet = Usage("acct-1");
        _throttled = Usage("acct-10");
        _campaignMember = Usage("acct-20");
        _standing = new AccountStanding("acct-1", "standard", false);
        _risk = new RiskInput(12, 10, 20, true);
    }

    [Benchmark(Baseline = true)]
    public string? DictionaryLookup() => _baseline.TryGetValue(_ids[_next++ % Accounts], out var value) ? value : null;

    [Benchmark]
    public ValueTask<bool> Admit_UntouchedAccount() => _enforcement.AdmitAsync(_context, _quiet);

    [Benchmark]
    public ValueTask<bool> Admit_ThrottledAccount()
    {
        // A request starts with no token meter; the throttle adds its own.
        _throttled.TokenMeter = null;
        return _enforcement.AdmitAsync(_context, _throttled);
    }

    [Benchmark]
    public ValueTask<bool> Admit_ThrottledCampaignMember()
    {
        // The account's bucket, then the campaign's shared one.
        _campaignMember.TokenMeter = null;
        return _enforcement.AdmitAsync(_context, _campaignMember);
    }

    [Benchmark]
    public PolicyDecision Decide_ReviewBand() => ActionLadder.Decide(_policy, _standing, _risk, DateTimeOffset.UnixEpoch);

    /// <summary>
    /// <see cref="Accounts"/> accounts ("acct-0" …) with a cached decision under the shipped policy: one in ten is
    /// throttled (friction band) and every twentieth is also a member of one of 50 campaigns, which share a bucket per
    /// campaign. <paramref name="baseline"/> gets every id, for the bare-lookup baseline.
    /// </summary>
    internal static (PolicyState State, PolicyEnforcement Enforcement) Population(ConcurrentDictionary<string, string> baseline)
    {
        var state = new PolicyState();
        var provider = new PolicyProvider(null, TimeProvider.System, NullLogger<PolicyProvider>.Instance);
        var enforcement = new PolicyEnforcement(state, provider, new TokenBucketRateLimiter(), new PolicyHostOptions { ExposeHeader = false }, TimeProvider.System);
        for (var i = 0; i < Accounts; i++)
        {
            var id = "acct-" + i;
            baseline[id] = id;
            var throttled = i % 10 == 0;
            var actions = throttled ? new HashSet<LadderAction> { LadderAction.Monitor, LadderAction.Throttle } : new HashSet<LadderAction>();
            state.SetDecision(new PolicyDecision(id, throttled ? RiskBand.Friction : RiskBand.None, actions, new HashSet<LadderAction>(), i % 20 == 0 ? "cmp-" + (i % 50) : null, "bench"));
        }

        return (state, enforcement);
    }

    internal static RequestUsage Usage(string account) => new()
    {
        RequestId = "req",
        StartedAt = DateTimeOffset.UnixEpoch,
        StartTimestamp = 0,
        Endpoint = "chat.completions",
        Api = "chat.completions",
        Caller = new AuthenticatedAccount(new Account { Id = account, CreatedAt = DateTimeOffset.UnixEpoch }, "key_0"),
    };
}
