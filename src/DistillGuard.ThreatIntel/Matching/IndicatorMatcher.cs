using System.Collections.Concurrent;
using System.Globalization;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.Usage;

namespace DistillGuard.ThreatIntel.Matching;

/// <summary>One account's match with one partner indicator.</summary>
/// <param name="Kinds">Artifact kinds matched: the template, plus the network and/or the client library (1–3).</param>
/// <param name="MatchedRequests">The account's requests whose template is one of the indicator's.</param>
/// <param name="Share">MatchedRequests over the account's prompt requests.</param>
/// <param name="PValue">Share of benign calibration accounts that match any indicator at least as strongly (add-one).</param>
/// <param name="Evidence">The evidence term (nats) this match adds to the account's score, trust-weighted.</param>
public sealed record IndicatorMatch(ImportedIndicator Indicator, int Kinds, long MatchedRequests, double Share, double PValue, double Evidence)
{
    /// <summary>The reason an analyst reads.</summary>
    public string Reason => string.Create(CultureInfo.InvariantCulture,
        $"matches indicator {Indicator.Id} from partner {Indicator.Partner} (trust {Indicator.Trust}), confidence {Indicator.Confidence}, seen {MatchedRequests} times ({Share:P0} of prompts; template{(Kinds > 1 ? " + " + (Kinds - 1) + " infrastructure artifact(s)" : " only")}); p = {PValue:G2} among benign accounts");
}

/// <summary>How often benign accounts match partner indicators: the matcher's null distribution, fitted on traffic it does not score.</summary>
/// <param name="Accounts">Benign accounts in the calibration traffic.</param>
/// <param name="AtLeast">AtLeast[k] = benign accounts with a match of at least k kinds (k = 1..3; index 0 unused).</param>
public sealed record MatchCalibration(int Accounts, IReadOnlyList<int> AtLeast)
{
    /// <summary>No calibration yet: every match gets p = 1 and adds no evidence.</summary>
    public static MatchCalibration None { get; } = new(0, [0, 0, 0, 0]);

    /// <summary>The add-one p-value of a match of <paramref name="kinds"/> kinds.</summary>
    public double PValue(int kinds) => Accounts == 0 ? 1 : (1.0 + AtLeast[Math.Clamp(kinds, 1, 3)]) / (1.0 + Accounts);

    /// <summary>Fits the null on benign traffic (no account of which may be scored later).</summary>
    public static MatchCalibration Fit(IndicatorLibrary library, SharingKey key, IEnumerable<UsageEvent> benign, MatchOptions? options = null)
    {
        var matcher = new IndicatorMatcher(library, key, None, options);
        foreach (var e in benign)
        {
            matcher.Observe(e);
        }

        var atLeast = new int[4];
        foreach (var id in matcher.Accounts)
        {
            var best = matcher.Matches(id).Select(m => m.Kinds).DefaultIfEmpty(0).Max();
            for (var k = 1; k <= best; k++)
            {
                atLeast[k]++;
            }
        }

        return new MatchCalibration(matcher.Accounts.Count, atLeast);
    }
}

/// <summary>What counts as a match.</summary>
public sealed class MatchOptions
{
    /// <summary>Requests with a matching template before an account matches.</summary>
    public int MinRequests { get; init; } = 3;

    /// <summary>Least share of the account's prompts that use the indicator's templates.</summary>
    public double MinShare { get; init; } = 0.5;

    /// <summary>p-values at or above τ add no evidence, as in the detector's combination.</summary>
    public double Tau { get; init; } = 0.1;

    /// <summary>Largest evidence of one match (nats), as the detector caps each term.</summary>
    public double Cap { get; init; } = 12;

    /// <summary>Weight of a partner's evidence by our trust in it.</summary>
    public IReadOnlyDictionary<string, double> TrustWeights { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["low"] = 0.25,
        ["medium"] = 0.6,
        ["high"] = 1,
    };
}

/// <summary>Matches accounts' traffic against partner indicators: a detector with its own calibrated p-value and readable reasons.</summary>
/// <remarks>
/// Each request is reduced to the keyed hashes of its template key, client network and client library under the sharing
/// key — the same computation the producer ran — so nothing is compared in the clear. State per account is one counter
/// per indicator it has touched. Thread-safe (one lock per account).
/// </remarks>
public sealed class IndicatorMatcher
{
    private readonly ConcurrentDictionary<string, AccountState> _accounts = new(StringComparer.Ordinal);
    private readonly SharingKey _key;
    private readonly MatchOptions _options;

    public IndicatorMatcher(IndicatorLibrary library, SharingKey key, MatchCalibration calibration, MatchOptions? options = null)
    {
        Library = library;
        _key = key;
        Calibration = calibration;
        _options = options ?? new MatchOptions();
    }

    public IndicatorLibrary Library { get; }

    public MatchCalibration Calibration { get; }

    public IReadOnlyList<string> Accounts => [.. _accounts.Keys];

    /// <summary>Folds one completion request in.</summary>
    public void Observe(UsageEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.AccountId is not { } account || e.Endpoint is not ("chat.completions" or "completions"))
        {
            return;
        }

        var state = _accounts.GetOrAdd(account, static _ => new AccountState());
        lock (state)
        {
            state.Requests++;
            if (Library.Count == 0)
            {
                return;
            }

            if (OperatorTraits.TemplateKey(e.PromptText) is var template and not 0)
            {
                state.Prompts++;
                foreach (var i in Library.ByTemplate(_key.Hash(ArtifactKind.Template, template)))
                {
                    state.Hit(i).Templates++;
                }
            }

            if (OperatorTraits.NetworkOf(e.ClientAddress) is { } network && network != state.LastNetwork)
            {
                state.LastNetwork = network;
                foreach (var i in Library.ByNetwork(_key.Hash(ArtifactKind.Network, network)))
                {
                    state.Hit(i).Network = true;
                }
            }

            if (e.UserAgent is { Length: > 0 } agent && agent != state.LastClient)
            {
                state.LastClient = agent;
                foreach (var i in Library.ByClient(_key.Hash(ArtifactKind.Client, agent)))
                {
                    state.Hit(i).Client = true;
                }
            }
        }
    }

    /// <summary>The account's matches, strongest first (none below the thresholds, and none outside an indicator's validity when <paramref name="now"/> is given).</summary>
    public IReadOnlyList<IndicatorMatch> Matches(string accountId, DateTimeOffset? now = null)
    {
        if (!_accounts.TryGetValue(accountId, out var state))
        {
            return [];
        }

        var matches = new List<IndicatorMatch>();
        lock (state)
        {
            foreach (var (i, hit) in state.Hits)
            {
                var share = state.Prompts == 0 ? 0 : (double)hit.Templates / state.Prompts;
                if (hit.Templates < _options.MinRequests || share < _options.MinShare)
                {
                    continue;
                }

                var indicator = Library.Indicators[i];
                if (now is { } t && (t < indicator.ValidFrom.AddDays(-1) || (indicator.ValidUntil is { } until && t > until)))
                {
                    continue;
                }

                var kinds = 1 + (hit.Network ? 1 : 0) + (hit.Client ? 1 : 0);
                var p = Calibration.PValue(kinds);
                var weight = _options.TrustWeights.GetValueOrDefault(indicator.Trust, 0) * indicator.Confidence / 100.0;
                var evidence = p >= _options.Tau ? 0 : weight * Math.Min(_options.Cap, Math.Log(_options.Tau / p));
                matches.Add(new IndicatorMatch(indicator, kinds, hit.Templates, Math.Round(share, 4), p, Math.Round(evidence, 3)));
            }
        }

        matches.Sort(static (a, b) => b.Evidence != a.Evidence ? b.Evidence.CompareTo(a.Evidence) : b.Kinds.CompareTo(a.Kinds));
        return matches;
    }

    /// <summary>The evidence the account's strongest match adds (0 without one).</summary>
    public double Evidence(string accountId, DateTimeOffset? now = null) => Matches(accountId, now).Select(m => m.Evidence).DefaultIfEmpty(0).Max();

    private sealed class AccountState
    {
        public Dictionary<int, Hit> Hits { get; } = [];

        public long Requests { get; set; }

        public long Prompts { get; set; }

        public string? LastNetwork { get; set; }

        public string? LastClient { get; set; }

        public Hit Hit(int indicator)
        {
            if (!Hits.TryGetValue(indicator, out var hit))
            {
                Hits[indicator] = hit = new Hit();
            }

            return hit;
        }
    }

    private sealed class Hit
    {
        public long Templates { get; set; }

        public bool Network { get; set; }

        public bool Client { get; set; }
    }
}
