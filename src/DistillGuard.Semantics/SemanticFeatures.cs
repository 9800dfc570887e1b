using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Threading.Channels;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Semantics.Accounts;
using DistillGuard.Semantics.Distribution;
using DistillGuard.Semantics.Embeddings;
using DistillGuard.Semantics.Intent;
using DistillGuard.Usage;

namespace DistillGuard.Semantics;

/// <summary>
/// The sentence-embedding detectors (<c>semantic_template</c>, <c>intent_nearness</c>, <c>semantic_breadth</c>,
/// <c>cohort_mmd</c>) as an engine extension: samples each account's prompts within a budget, embeds them, and keeps
/// bounded per-account state from which the features are read.
/// </summary>
/// <remarks>
/// Two ways to run. <b>Inline</b> (offline replays, calibration, evaluation): <see cref="Observe"/> embeds a sampled
/// prompt at once (through the cache, so a repeated template costs one embedding), so a replay is deterministic.
/// <b>Queued</b> (the gateway): <see cref="Observe"/> only decides whether the prompt is sampled and writes it to a
/// bounded queue, dropping and counting when the queue is full; a background worker drains it with
/// <see cref="ProcessPendingAsync"/>. Both use the same sampler and the same state, so a replay scores what the
/// gateway scores, less what the gateway had to drop. No prompt text is kept: only embeddings and hashes.
/// </remarks>
public sealed class SemanticFeatures : IFeatureExtension
{
    private readonly ConcurrentDictionary<string, SemanticAccount> _accounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Version, int Reference, double Value)> _mmd = new(StringComparer.Ordinal);
    private readonly EmbeddingCache _cache;
    private readonly SemanticOptions _options;
    private readonly CohortSample _cohort;
    private readonly float[][] _prototypes;
    private readonly Channel<PendingPrompt>? _queue;
    private readonly double _halfLifeSeconds;
    private long _dropped;
    private long _embedded;
    private long _sampled;

    /// <summary>A sampled prompt waiting for the embedding worker.</summary>
    private readonly record struct PendingPrompt(string AccountId, long UnixSeconds, string Text, ulong Hash);

    /// <param name="cache">The embedder behind a cache.</param>
    /// <param name="options">Sampling and thresholds.</param>
    /// <param name="queued">True: <see cref="Observe"/> queues sampled prompts for <see cref="ProcessPendingAsync"/>; false: it embeds them at once.</param>
    public SemanticFeatures(EmbeddingCache cache, SemanticOptions? options = null, bool queued = false)
    {
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        _options = options ?? new SemanticOptions();
        _options.Validate();
        _halfLifeSeconds = _options.HalfLife.TotalSeconds;
        _cohort = new CohortSample(_options.CohortSize, _options.MmdReference, _options.Seed);
        _prototypes = cache.Get(IntentPrototypes.All);
        if (queued)
        {
            _queue = Channel.CreateBounded<PendingPrompt>(new BoundedChannelOptions(_options.QueueCapacity)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }
    }

    public SemanticOptions Options => _options;

    /// <summary>Sampled prompts dropped because the embedding worker was behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Prompts folded into account state.</summary>
    public long Embedded => Interlocked.Read(ref _embedded);

    /// <summary>Prompts the sampler chose.</summary>
    public long Sampled => Interlocked.Read(ref _sampled);

    /// <summary>Prompts waiting for the worker (0 inline).</summary>
    public int Pending => _queue?.Reader.Count ?? 0;

    /// <summary>Vectors in the population sample.</summary>
    public int CohortCount => _cohort.Count;

    public EmbeddingCache Cache => _cache;

    /// <inheritdoc/>
    public void Observe(UsageEvent usageEvent)
    {
        ArgumentNullException.ThrowIfNull(usageEvent);
        if (usageEvent.AccountId is not { Length: > 0 } accountId || usageEvent.PromptText is not { Length: > 0 } prompt)
        {
            return;
        }

        var unix = usageEvent.Timestamp.ToUnixTimeSeconds();
        var account = _accounts.GetOrAdd(accountId, static (_, d) => new SemanticAccount(d), _cache.Embedder.Dimensions);
        lock (account)
        {
            if (!Sample(account, unix / 3600))
            {
                return;
            }
        }

        Interlocked.Increment(ref _sampled);
        var text = Tail(prompt, _options.TailCharacters);
        var pending = new PendingPrompt(accountId, unix, text, EmbeddingCache.Hash(text));
        if (_queue is null)
        {
            Fold([pending]);
        }
        else if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Waits for queued prompts and embeds them in batches until cancelled (queued mode only).</summary>
    public async Task ProcessPendingAsync(CancellationToken cancellationToken)
    {
        var reader = _queue?.Reader ?? throw new InvalidOperationException("Inline features have no queue.");
        var batch = new List<PendingPrompt>(_options.BatchSize);
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            while (batch.Count < _options.BatchSize && reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            Fold(batch);
            batch.Clear();
        }
    }

    /// <summary>Embeds what is queued now (queued mode; tests and shutdown).</summary>
    public int Drain()
    {
        var reader = _queue?.Reader ?? throw new InvalidOperationException("Inline features have no queue.");
        var batch = new List<PendingPrompt>(_options.BatchSize);
        var total = 0;
        while (reader.TryRead(out var item))
        {
            batch.Add(item);
            if (batch.Count == _options.BatchSize)
            {
                Fold(batch);
                total += batch.Count;
                batch.Clear();
            }
        }

        Fold(batch);
        return total + batch.Count;
    }

    /// <inheritdoc/>
    public void Fill(string accountId, DateTimeOffset now, double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!_accounts.TryGetValue(accountId, out var account))
        {
            return;
        }

        float[][]? held = null;
        int version;
        lock (account)
        {
            if (account.Samples < _options.MinSamples)
            {
                return;
            }

            values[(int)DetectorKind.SemanticTemplate] = account.TemplateShare;
            values[(int)DetectorKind.IntentNearness] = account.IntentShare;
            values[(int)DetectorKind.SemanticBreadth] = account.Breadth;
            version = account.Version;
            if (account.Filled >= _options.MinSamples)
            {
                held = account.Vectors();
            }
        }

        if (held is null || _cohort.Current(_options.MmdReference / 2) is not { } reference)
        {
            return;
        }

        if (_mmd.TryGetValue(accountId, out var cached) && cached.Version == version && cached.Reference == reference.Version)
        {
            values[(int)DetectorKind.CohortMmd] = cached.Value;
            return;
        }

        var mmd = MaximumMeanDiscrepancy.Squared(held, reference.Vectors, reference.Bandwidth, reference.Within);
        _mmd[accountId] = (version, reference.Version, mmd);
        values[(int)DetectorKind.CohortMmd] = mmd;
    }

    /// <inheritdoc/>
    public int StateBytes(string accountId) => _accounts.TryGetValue(accountId, out var account) ? account.SizeBytes + 16 : 0;

    /// <inheritdoc/>
    public void Forget(string accountId)
    {
        _accounts.TryRemove(accountId, out _);
        _mmd.TryRemove(accountId, out _);
    }

    /// <summary>The text that is embedded for a prompt: its last <paramref name="characters"/>, from a word boundary.</summary>
    public static string Tail(string prompt, int characters)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length <= characters)
        {
            return prompt;
        }

        var start = prompt.Length - characters;
        var space = prompt.IndexOfAny([' ', '\n', '\t'], start);
        return space >= 0 && space < prompt.Length - 1 ? prompt[(space + 1)..] : prompt[start..];
    }

    // First k per clock hour, then one in m: a burst is seen at its start, a flood at a fixed fraction.
    private bool Sample(SemanticAccount account, long hour)
    {
        if (account.Hour != hour)
        {
            account.Hour = hour;
            account.HourOffered = 0;
        }

        if (account.HourOffered++ < _options.FirstPerHour)
        {
            return true;
        }

        return account.LateOffered++ % _options.EveryNth == 0;
    }

    private void Fold(IReadOnlyList<PendingPrompt> prompts)
    {
        if (prompts.Count == 0)
        {
            return;
        }

        var vectors = _cache.Get(prompts.Select(p => p.Text).ToArray());
        for (var i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i];
            var vector = vectors[i];
            var account = _accounts.GetOrAdd(p.AccountId, static (_, d) => new SemanticAccount(d), _cache.Embedder.Dimensions);
            var intent = Nearest(_prototypes, vector) >= _options.IntentCosine;
            var contribute = false;
            lock (account)
            {
                if (account.Holds(p.Hash))
                {
                    continue;
                }

                account.Fold(vector, p.Hash, p.UnixSeconds, _halfLifeSeconds, Gumbel(p.Hash, p.UnixSeconds), intent, _options.TemplateCosine);
                if (account.Contributed < _options.CohortContributions)
                {
                    account.Contributed++;
                    contribute = true;
                }
            }

            if (contribute)
            {
                _cohort.Offer(vector);
            }

            Interlocked.Increment(ref _embedded);
        }
    }

    private static double Nearest(float[][] prototypes, float[] vector)
    {
        var best = -1.0;
        foreach (var prototype in prototypes)
        {
            best = Math.Max(best, TensorPrimitives.Dot(prototype, vector));
        }

        return best;
    }

    // A Gumbel(0, 1) draw from the prompt's hash and time: reproducible across replays, independent across prompts.
    private static double Gumbel(ulong hash, long unixSeconds)
    {
        Span<byte> bytes = stackalloc byte[8];
        BitConverter.TryWriteBytes(bytes, hash);
        var mixed = System.IO.Hashing.XxHash3.HashToUInt64(bytes, unixSeconds);
        var u = ((mixed >> 11) + 0.5) / (1UL << 53);
        return -Math.Log(-Math.Log(u));
    }
}
