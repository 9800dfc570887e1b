using System.Collections.Concurrent;
using DistillGuard.Detection.Accounts;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Engine;

/// <summary>Per-account distillation detection over usage events: observe requests, assess accounts against a benign calibration.</summary>
/// <remarks>
/// Pure: time comes from event timestamps and the <c>now</c> passed to the assess methods; no I/O. Thread-safe for one
/// writer and many readers (and tolerates several writers): each account's state is guarded by its own lock, and the
/// calibration is an immutable object swapped atomically.
/// </remarks>
public sealed class DetectionEngine
{
    private readonly ConcurrentDictionary<string, AccountWindow> _accounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AccountProfile> _profiles = new(StringComparer.Ordinal);
    private readonly DetectionOptions _options;
    private volatile DetectionCalibration _calibration;

    public DetectionEngine(DetectionCalibration calibration, DetectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        _options = options ?? new DetectionOptions();
        _options.Validate();
        _calibration = calibration;
    }

    /// <summary>The calibration scores are computed against; replace it to recalibrate without losing account state.</summary>
    public DetectionCalibration Calibration
    {
        get => _calibration;
        set => _calibration = value ?? throw new ArgumentNullException(nameof(value));
    }

    public DetectionOptions Options => _options;

    /// <summary>Features computed outside the engine (sentence embeddings); null: those detectors stay silent (NaN).</summary>
    public IFeatureExtension? Extension { get; set; }

    /// <summary>Evidence from outside the account's traffic (partner indicators); null: none.</summary>
    public IEvidenceSource? EvidenceSource { get; set; }

    /// <summary>Accounts with state in memory.</summary>
    public int AccountCount => _accounts.Count;

    /// <summary>Records an account's tier and verification, which choose its cohort.</summary>
    public void SetProfile(string accountId, AccountProfile profile)
    {
        _profiles[accountId] = profile;
        if (_accounts.TryGetValue(accountId, out var window))
        {
            lock (window)
            {
                window.Cohort = Cohorts.Of(profile);
            }
        }
    }

    /// <summary>True when a profile has been recorded for the account.</summary>
    public bool HasProfile(string accountId) => _profiles.ContainsKey(accountId);

    /// <summary>
    /// True for the events <see cref="Observe"/> folds in: an account's completions. Model listings and the like are
    /// ignored, and so are requests the policy ladder refused (<see cref="UsageEvent.RefusedByPolicy"/>): a harvester asked to
    /// verify keeps its evidence instead of diluting its answer shares with the refusals.
    /// </summary>
    public static bool Counts(UsageEvent usageEvent) =>
        !string.IsNullOrEmpty(usageEvent?.AccountId) && usageEvent.Endpoint is "chat.completions" or "completions" && !usageEvent.RefusedByPolicy;

    /// <summary>Folds one usage event into its account's window; events without an account or for model listings are ignored.</summary>
    public void Observe(UsageEvent usageEvent)
    {
        ArgumentNullException.ThrowIfNull(usageEvent);
        if (!Counts(usageEvent) || usageEvent.AccountId is not { } accountId)
        {
            return;
        }

        var window = _accounts.GetOrAdd(accountId, static (id, profiles) => new AccountWindow(id, Cohorts.Of(profiles.GetValueOrDefault(id))), _profiles);
        lock (window)
        {
            window.Observe(usageEvent, _options);
        }

        Extension?.Observe(usageEvent);
    }

    /// <summary>Requests folded into the account's window since it was created (0 when it has none).</summary>
    public long RequestCount(string accountId)
    {
        if (!_accounts.TryGetValue(accountId, out var window))
        {
            return 0;
        }

        lock (window)
        {
            return window.TotalRequests;
        }
    }

    /// <summary>The account's features at <paramref name="now"/>, or null when it has no state.</summary>
    public WindowFeatures? Features(string accountId, DateTimeOffset now)
    {
        if (!_accounts.TryGetValue(accountId, out var window))
        {
            return null;
        }

        WindowFeatures features;
        lock (window)
        {
            features = window.Features(now);
        }

        Extension?.Fill(accountId, now, features.Values);
        return features;
    }

    /// <summary>The account's features, cohort and running totals at <paramref name="now"/>, or null when it has no state.</summary>
    public Calibration.AccountSnapshot? Snapshot(string accountId, DateTimeOffset now)
    {
        if (!_accounts.TryGetValue(accountId, out var window))
        {
            return null;
        }

        Calibration.AccountSnapshot snapshot;
        lock (window)
        {
            snapshot = new Calibration.AccountSnapshot(accountId, window.Cohort, now, window.Features(now), window.TotalRequests, window.TotalCompletionTokens);
        }

        Extension?.Fill(accountId, now, snapshot.Features.Values);
        return snapshot;
    }

    /// <summary>Bytes of detection state held for an account, or 0 when it has none.</summary>
    public int StateBytes(string accountId) =>
        (_accounts.TryGetValue(accountId, out var window) ? window.SizeBytes : 0) + (Extension?.StateBytes(accountId) ?? 0);

    /// <summary>Assesses one account at <paramref name="now"/>; null when the engine has never seen it.</summary>
    public AccountAssessment? Assess(string accountId, DateTimeOffset now)
    {
        if (!_accounts.TryGetValue(accountId, out var window))
        {
            return null;
        }

        WindowFeatures features;
        string cohort;
        lock (window)
        {
            features = window.Features(now);
            cohort = window.Cohort;
        }

        Extension?.Fill(accountId, now, features.Values);

        return RiskScoring.Assess(accountId, now, cohort, features, _calibration, _options, EvidenceSource?.Evidence(accountId, now));
    }

    /// <summary>Assesses every account in memory at <paramref name="now"/>.</summary>
    public IEnumerable<AccountAssessment> AssessAll(DateTimeOffset now)
    {
        foreach (var id in _accounts.Keys)
        {
            if (Assess(id, now) is { } assessment)
            {
                yield return assessment;
            }
        }
    }

    /// <summary>Drops one account's state (its profile stays); returns false when there was none.</summary>
    public bool Forget(string accountId) => _accounts.TryRemove(accountId, out _);

    /// <summary>Drops accounts idle since before <paramref name="now"/> − <see cref="DetectionOptions.IdleEviction"/>; returns how many.</summary>
    public int Prune(DateTimeOffset now)
    {
        var removed = 0;
        foreach (var (id, window) in _accounts)
        {
            bool idle;
            lock (window)
            {
                idle = window.LastSeen < now - _options.IdleEviction;
            }

            if (idle && _accounts.TryRemove(id, out _))
            {
                Extension?.Forget(id);
                removed++;
            }
        }

        return removed;
    }
}
