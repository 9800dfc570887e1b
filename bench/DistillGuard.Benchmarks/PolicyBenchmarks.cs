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
    private const int Accounts = 10_000;
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
        _state = new PolicyState();
        var provider = new PolicyProvider(null, TimeProvider.System, NullLogger<PolicyProvider>.Instance);
        _enforcement = new PolicyEnforcement(_state, provider, new TokenBucketRateLimiter(), new PolicyHostOptions { ExposeHeader = false }, TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < Accounts; i++)
        {
            var id = "acct-" + i;
            _baseline[id] = id;
            var band = i % 10 == 0 ? RiskBand.Friction : RiskBand.None;
            var actions = band == RiskBand.Friction ? new HashSet<LadderAction> { LadderAction.Monitor, LadderAction.Throttle } : new HashSet<LadderAction>();
            // Every 20th account is a throttled member of one of 50 campaigns, which share a bucket per campaign.
            _state.SetDecision(new PolicyDecision(id, band, actions, new HashSet<LadderAction>(), i % 20 == 0 ? "cmp-" + (i % 50) : null, "bench"));
        }

        _context = new DefaultHttpContext();
        _quiet = Usage("acct-1");
        _throttled = Usage("acct-10");
        _campaignMember = Usage("acct-20");
        _standing = new AccountStanding("acct-1", "standard", false);
        _risk = new RiskInput(12, 10, 20, true);
        _ = now;
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

    internal static RequestUsage Usage(string account) => new()
    {
        RequestId = "req",
        StartedAt = DateTimeOffset.UnixEpoch,
        StartTimestamp = 0,
        Endpoint = "chat.completions",
        Caller = new AuthenticatedAccount(new Account { Id = account, CreatedAt = DateTimeOffset.UnixEpoch }, "key_0"),
    };
}
