using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Prompts;
using DistillGuard.Detection.Sketches;
using DistillGuard.Usage;

namespace DistillGuard.ThreatIntel.Indicators;

/// <summary>What an operator's traffic shows that can be shared: template keys, networks, clients, timing and volume.</summary>
/// <remarks>
/// The same collector describes a flagged campaign for export and an account for matching, so both sides compute the
/// artifacts identically. Bounded: at most <see cref="MaxTemplates"/> template keys (the most frequent kept),
/// <see cref="MaxNetworks"/> networks and clients, and a reservoir of intervals. Holds no prompt text, address or
/// account id: templates are 64-bit skeleton hashes, networks are prefixes. Not thread-safe.
/// </remarks>
public sealed class OperatorTraits
{
    public const int MaxTemplates = 64;
    public const int MaxNetworks = 64;
    private const int MaxIntervals = 512;

    private readonly Dictionary<ulong, long> _templates = [];
    private readonly Dictionary<string, long> _networks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _clients = new(StringComparer.Ordinal);
    private readonly HashSet<string> _accounts = new(StringComparer.Ordinal);
    private readonly List<double> _intervals = [];
    private readonly List<int> _completionTokens = [];
    private readonly Dictionary<string, DateTimeOffset> _lastByAccount = new(StringComparer.Ordinal);
    private long _intervalsSeen;
    private long _tokensSeen;

    public long Requests { get; private set; }

    public long PromptRequests { get; private set; }

    public int Accounts => _accounts.Count;

    public DateTimeOffset FirstSeen { get; private set; } = DateTimeOffset.MaxValue;

    public DateTimeOffset LastSeen { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>Template keys with their request counts, most frequent first.</summary>
    public IEnumerable<KeyValuePair<ulong, long>> Templates => _templates.OrderByDescending(t => t.Value).ThenBy(t => t.Key);

    public IEnumerable<KeyValuePair<string, long>> Networks => _networks.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal);

    public IEnumerable<KeyValuePair<string, long>> Clients => _clients.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal);

    /// <summary>The template key the indicator and the matcher read from a prompt (the skeleton head, as the campaign linker reads it).</summary>
    public static ulong TemplateKey(string? promptText) =>
        promptText is { Length: > 0 } text ? PromptAnalysis.Analyse(text, []).PrefixHash : 0;

    /// <summary>The client network prefix of an address, as the campaign linker computes it.</summary>
    public static string? NetworkOf(string? address) => AccountArtifacts.NetworkOf(address);

    /// <summary>Folds one completion request in; other events are ignored.</summary>
    public void Observe(UsageEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Endpoint is not ("chat.completions" or "completions"))
        {
            return;
        }

        Requests++;
        if (e.Timestamp < FirstSeen)
        {
            FirstSeen = e.Timestamp;
        }

        if (e.Timestamp > LastSeen)
        {
            LastSeen = e.Timestamp;
        }

        if (e.AccountId is { } account)
        {
            _accounts.Add(account);
            if (_lastByAccount.TryGetValue(account, out var last) && e.Timestamp >= last)
            {
                Sample(_intervals, ref _intervalsSeen, (e.Timestamp - last).TotalSeconds);
            }

            _lastByAccount[account] = e.Timestamp;
        }

        Sample(_completionTokens, ref _tokensSeen, e.CompletionTokens);
        if (TemplateKey(e.PromptText) is var template and not 0)
        {
            PromptRequests++;
            Count(_templates, template, MaxTemplates);
        }

        if (NetworkOf(e.ClientAddress) is { } network)
        {
            Count(_networks, network, MaxNetworks);
        }

        if (e.UserAgent is { Length: > 0 } agent)
        {
            Count(_clients, agent, MaxNetworks);
        }
    }

    /// <summary>The observed template keys as a MinHash sketch of keyed items (the shared sketch type of the detector).</summary>
    public MinHashSignature TemplateSketch(SharingKey key, int size = 64)
    {
        var sketch = new MinHashSignature(size);
        foreach (var template in _templates.Keys)
        {
            sketch.Add(key.SketchItem(template));
        }

        return sketch;
    }

    /// <summary>Timing and volume, rounded so that they describe an operator's tooling, not a person.</summary>
    public TimingSignature Timing()
    {
        var days = Math.Max(1.0 / 24, (LastSeen - FirstSeen).TotalDays);
        return new TimingSignature
        {
            MedianIntervalSeconds = Math.Round(Median(_intervals), 1),
            RequestsPerAccountDay = Math.Round(Requests / Math.Max(1, Accounts) / days, 1),
            MedianCompletionTokens = Math.Round(Median(_completionTokens.Select(t => (double)t).ToList()), 0),
            PromptShare = Requests == 0 ? 0 : Math.Round((double)PromptRequests / Requests, 3),
        };
    }

    private static void Sample<T>(List<T> reservoir, ref long seen, T value)
    {
        // Deterministic thinning instead of a random reservoir, so that replaying the same traffic gives the same export:
        // once full, every 2^k-th value (k growing with the count) overwrites a slot.
        seen++;
        if (reservoir.Count < MaxIntervals)
        {
            reservoir.Add(value);
        }
        else if (seen % (long)Math.Pow(2, Math.Ceiling(Math.Log2(seen / (double)MaxIntervals))) == 0)
        {
            reservoir[(int)(seen % MaxIntervals)] = value;
        }
    }

    private static void Count<TKey>(Dictionary<TKey, long> counts, TKey key, int cap)
        where TKey : notnull
    {
        if (counts.TryGetValue(key, out var n))
        {
            counts[key] = n + 1;
            return;
        }

        if (counts.Count >= cap)
        {
            // Space-saving (Metwally et al. 2005): a new key replaces the rarest and inherits its count.
            var rarest = counts.MinBy(c => c.Value);
            counts.Remove(rarest.Key);
            counts[key] = rarest.Value + 1;
            return;
        }

        counts[key] = 1;
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}

/// <summary>An operator's timing and volume, as shared.</summary>
public sealed class TimingSignature
{
    public double MedianIntervalSeconds { get; init; }

    public double RequestsPerAccountDay { get; init; }

    public double MedianCompletionTokens { get; init; }

    /// <summary>Share of requests that carried prompt text.</summary>
    public double PromptShare { get; init; }
}
