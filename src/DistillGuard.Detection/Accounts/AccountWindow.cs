using System.IO.Hashing;
using System.Runtime.InteropServices;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Prompts;
using DistillGuard.Detection.Scoring;
using DistillGuard.Detection.Sketches;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Accounts;

/// <summary>Everything the engine remembers about one account: an hourly ring over 7 days and two half-week sketch generations.</summary>
/// <remarks>
/// State is fixed-size (7,240 bytes by count, see <see cref="SizeBytes"/>) whatever the account's volume. Not thread-safe: the
/// engine serialises access per account. Times come from event timestamps; events out of order are placed in their
/// hour when it is still in the ring and otherwise only counted where they still fit.
/// </remarks>
internal sealed class AccountWindow
{
    public const int RingHours = 168;
    public const int GenerationHours = 84;
    private const int RecentFingerprints = 16;

    /// <summary>Distinct sampling settings remembered, most recent first: more call sites than an application has, fewer than a sweep uses.</summary>
    private const int RecentSettings = 4;
    private const int MaxContentWords = 32;

    /// <summary>Slots of the repeat memory: one byte each; a benchmark's items (hundreds to a few thousand) mostly fit.</summary>
    private const int RepeatSlots = 1792;

    /// <summary>Prompts whose sampling settings are remembered (direct-mapped): a prober's sweep of one prompt comes in a burst.</summary>
    private const int SweptPrompts = 256;

    /// <summary>
    /// Distinct settings on one prompt beyond which a new one counts as a sweep: an evaluation re-runs an item greedy and
    /// sampled, a red-teamer retries an attack at default, 0 and 1.0; a fourth setting on the same text is a measurement.
    /// </summary>
    private const int SettingsPerPrompt = 3;

    /// <summary>
    /// Answers of at most this many tokens per choice are graded labels (a letter, a number, yes/no): logprobs on them score
    /// an item, as evaluations do; on longer answers they are the teacher's distribution over its reasoning.
    /// </summary>
    private const int GradedAnswerTokens = 3;

    /// <summary>Repeated completion tokens are kept per hour in units of this many tokens (rounded down).</summary>
    private const int RepeatTokenUnit = 8;

    /// <summary>EWMA weight per day (NIST/SEMATECH e-Handbook §6.3.2.4 recommends 0.2–0.3).</summary>
    private const double EwmaLambda = 0.3;

    private readonly int[] _hourRequests = new int[RingHours];
    private readonly int[] _hourTokens = new int[RingHours];

    // Repeats of an exact request already answered, per hour: requests, and completion tokens per choice in units of
    // RepeatTokenUnit; both saturate, which only under-counts repeats and so never lowers suspicion.
    private readonly ushort[] _hourRepeats = new ushort[RingHours];
    private readonly ushort[] _hourRepeatTokens = new ushort[RingHours];
    private readonly RepeatMemory _answered = new(RepeatSlots);
    private readonly ulong[] _recent = new ulong[RecentFingerprints];
    private readonly ulong[] _recentSettings = new ulong[RecentSettings];

    // Per remembered prompt: the upper 32 bits tag the prompt's text hash, the lower 32 are a bitmap of the settings it
    // was asked under (one bit per setting hash, so two settings sharing a bit read as one: it errs towards "no sweep").
    private readonly ulong[] _promptSettings = new ulong[SweptPrompts];
    private WindowGeneration _current = new();
    private WindowGeneration _previous = new();
    private long _latestHour = long.MinValue;
    private int _recentCount;
    private long _lastTicks = long.MinValue;
    private ulong _lastPromptHash;
    private int _lastPromptLength;
    private long _day = long.MinValue;
    private int _dayCount;
    private int _daysSeen;
    private double _ewma;
    private double _ewVar;

    public AccountWindow(string accountId, string cohort)
    {
        AccountId = accountId;
        Cohort = cohort;
    }

    public string AccountId { get; }

    /// <summary>The cohort the account is compared with (see <see cref="Cohorts"/>).</summary>
    public string Cohort { get; set; }

    public DateTimeOffset FirstSeen { get; private set; } = DateTimeOffset.MaxValue;

    public DateTimeOffset LastSeen { get; private set; } = DateTimeOffset.MinValue;

    public long TotalRequests { get; private set; }

    public long TotalCompletionTokens { get; private set; }

    /// <summary>Bytes of detection state held for this account (arrays and fields, object headers excluded).</summary>
    public int SizeBytes => (RingHours * (8 + 4)) + (RecentFingerprints * 8) + (RecentSettings * 8) + (SweptPrompts * 8) + _answered.SizeBytes + _current.SizeBytes + _previous.SizeBytes + 128;

    /// <summary>Folds one request into the window.</summary>
    public void Observe(UsageEvent e, DetectionOptions options)
    {
        var time = e.Timestamp;
        var hour = time.ToUnixTimeSeconds() / 3600;
        TotalRequests++;
        TotalCompletionTokens += Math.Max(0, e.CompletionTokens);
        if (time < FirstSeen)
        {
            FirstSeen = time;
        }

        if (time > LastSeen)
        {
            LastSeen = time;
        }

        // An exact repeat of a request already answered (same prompt text and sampling parameters) returns nothing new:
        // a benchmark re-run re-sends its fixed items, a harvest never does.
        var text = e.PromptText is { Length: > 0 } t ? t : null;
        var promptHash = text is null ? 0 : XxHash3.HashToUInt64(MemoryMarshal.AsBytes(text.AsSpan()));
        var repeat = false;
        if (text is not null)
        {
            var key = RequestKey(e, promptHash, options.RequestHashSeed);
            repeat = _answered.Contains(key);
            if (!repeat && e.Status is >= 200 and < 300)
            {
                _answered.Add(key);
            }
        }

        // Answer text per choice: n samples of one prompt multiply tokens, and n itself is multi_choice_share's to weigh.
        PlaceInRing(hour, Math.Max(0, e.CompletionTokens) / Math.Max(1, e.N), repeat);
        RollDays(hour / 24);
        if (hour / 24 == _day)
        {
            _dayCount++;
        }

        var generation = GenerationFor(hour / GenerationHours);
        if (generation is null)
        {
            return;
        }

        generation.Requests++;
        if (e.Status is >= 400 and not 429)
        {
            generation.Errors++;
        }

        var completion = Math.Max(0, e.CompletionTokens);
        generation.PromptTokens += Math.Max(0, e.PromptTokens);
        generation.CompletionTokens += completion;
        if (e.Logprobs || e.TopLogprobs > 0)
        {
            generation.Logprobs++;
            generation.RepeatLogprobs += repeat ? 1 : 0;
        }

        if (e.N > 1)
        {
            generation.MultiChoice++;
            generation.RepeatMultiChoice += repeat ? 1 : 0;
        }

        var logprobs = e.Logprobs || e.TopLogprobs > 0;
        if (!repeat)
        {
            // Soft labels: one log-probability per returned token (and echoed prompt token) per alternative asked for.
            var perToken = Math.Max(1, e.TopLogprobs ?? 0);
            var entries = logprobs ? ((long)completion + (e.Echo ? Math.Max(0, e.PromptTokens) : 0)) * perToken : 0;
            generation.LogprobEntries += entries;
            generation.HarvestedTokens += completion + entries;
            if (logprobs && e.N > 1)
            {
                generation.SampledLogprobs++;
            }
        }

        generation.Repeats += repeat ? 1 : 0;
        var setting = SamplingKey(e) | 1;
        if (text is not null && IsPromptSweep(promptHash, setting))
        {
            generation.PromptSweeps++;
        }

        if (IsNovelSetting(setting))
        {
            generation.NovelSettings++;
        }

        if (e.MaxTokens is { } max && max >= options.MaxTokensCeiling * 0.95)
        {
            generation.AtCeiling++;
        }

        var longOutput = IsLongOutput(e, completion, options);
        if (longOutput)
        {
            generation.LongOutputs++;
        }

        var ticks = time.UtcTicks;
        if (_lastTicks != long.MinValue && ticks >= _lastTicks)
        {
            var gap = TimeSpan.FromTicks(ticks - _lastTicks).TotalSeconds;
            if (gap < 3600)
            {
                generation.AddGap(gap);
            }
        }

        if (text is not null)
        {
            ObserveText(generation, text, promptHash, ticks, new RequestTraits(longOutput, logprobs && completion / Math.Max(1, e.N) > GradedAnswerTokens), options);
        }

        if (ticks >= _lastTicks)
        {
            _lastTicks = ticks;
        }
    }

    /// <summary>
    /// True when an answer is long per choice (n &gt; 1 multiplies tokens, not length), or was cut at a <c>max_tokens</c>
    /// that is itself long: a 1-token multiple-choice probe or a 64-token extraction "cut" at its cap is a graded short
    /// answer, not harvested text.
    /// </summary>
    internal static bool IsLongOutput(UsageEvent e, int completion, DetectionOptions options)
    {
        var perChoice = completion / (double)Math.Max(1, e.N);
        if (perChoice >= options.LongOutputTokens)
        {
            return true;
        }

        var cap = e.MaxTokens ?? options.MaxTokensCeiling;
        var cut = e.FinishReason == "length" || (cap > 0 && perChoice >= cap * 0.9);
        return cut && cap >= options.LongOutputTokens;
    }

    /// <summary>
    /// The identity of a request for repeat detection: the prompt's hash with every parameter that changes what comes back
    /// (a different temperature, seed, n or logprob setting on the same prompt reads something new), keyed by
    /// <see cref="DetectionOptions.RequestHashSeed"/> so that colliding prompts cannot be crafted offline.
    /// </summary>
    internal static ulong RequestKey(UsageEvent e, ulong promptHash, ulong seed)
    {
        var h = HashMix.Mix(promptHash ^ seed);
        h = HashMix.Mix(h ^ BitConverter.DoubleToUInt64Bits(e.Temperature ?? double.NaN));
        h = HashMix.Mix(h ^ BitConverter.DoubleToUInt64Bits(e.TopP ?? double.NaN));
        h = HashMix.Mix(h ^ (ulong)(uint)(e.MaxTokens ?? -1) ^ ((ulong)(uint)e.N << 32));
        h = HashMix.Mix(h ^ (ulong)(uint)(e.TopLogprobs ?? -1) ^ (e.Logprobs ? 1UL << 40 : 0));
        return HashMix.Mix(h ^ (ulong)(e.Seed ?? long.MinValue));
    }

    /// <summary>
    /// True when <paramref name="key"/> is not among the account's <see cref="RecentSettings"/> most recently used sampling
    /// settings and the account has already used that many: an application's handful of settings, a red-teamer's few
    /// temperatures or an evaluation's settings per run never count, only a setting beyond them. Either way it becomes
    /// the most recent.
    /// </summary>
    private bool IsNovelSetting(ulong key)
    {
        var found = Array.IndexOf(_recentSettings, key);
        var novel = found < 0 && _recentSettings[RecentSettings - 1] != 0;
        var shift = found < 0 ? RecentSettings - 1 : found;
        Array.Copy(_recentSettings, 0, _recentSettings, 1, shift);
        _recentSettings[0] = key;
        return novel;
    }

    /// <summary>
    /// True when this exact prompt was already asked under <see cref="SettingsPerPrompt"/> other sampling
    /// settings and now comes with a new one. A slot taken by another prompt starts over, so a forgotten sweep is missed,
    /// never invented.
    /// </summary>
    /// <remarks>
    /// The exact text, not the skeleton: measuring a distribution needs the same context, and the skeleton of a templated
    /// probe is one for all its prompts, whose settings would then merge into one set and hide the sweep of each.
    /// </remarks>
    private bool IsPromptSweep(ulong promptHash, ulong setting)
    {
        var slot = (int)(HashMix.Mix(promptHash) % SweptPrompts);
        var tag = (promptHash >> 32) | 1;
        var bit = 1UL << (int)(HashMix.Mix(setting) & 31);
        var entry = _promptSettings[slot];
        var mask = entry >> 32 == tag ? entry & 0xFFFF_FFFFUL : 0;
        var sweep = (mask & bit) == 0 && System.Numerics.BitOperations.PopCount(mask) >= SettingsPerPrompt;
        _promptSettings[slot] = (tag << 32) | mask | bit;
        return sweep;
    }

    /// <summary>
    /// The sampling settings of a request: temperature and top_p to 0.05, logprobs, top_logprobs and n. An application
    /// sends what its code fixes (a few call sites, a few settings); a sweep over them measures the model's distribution.
    /// <c>max_tokens</c> and the seed are left out: applications budget length per request, and some send a fresh seed
    /// each time.
    /// </summary>
    internal static ulong SamplingKey(UsageEvent e)
    {
        static ulong Step(double? value) => value is { } v && double.IsFinite(v) ? (ulong)(long)Math.Round(Math.Clamp(v, -100, 100) * 20) + 1 : 0;

        var h = HashMix.Mix(Step(e.Temperature) ^ (Step(e.TopP) << 16));
        h = HashMix.Mix(h ^ (ulong)(uint)(e.TopLogprobs ?? -1) ^ (e.Logprobs ? 1UL << 40 : 0));
        return HashMix.Mix(h ^ ((ulong)(uint)Math.Max(1, e.N) << 8));
    }

    /// <summary>What <see cref="ObserveText"/> needs of the request besides its text.</summary>
    /// <param name="LongOutput">See <see cref="IsLongOutput"/>.</param>
    /// <param name="SoftLabels">Logprobs returned on an answer longer than a graded label (<see cref="GradedAnswerTokens"/>).</param>
    private readonly record struct RequestTraits(bool LongOutput, bool SoftLabels);

    private void ObserveText(WindowGeneration generation, string text, ulong promptHash, long ticks, RequestTraits traits, DetectionOptions options)
    {
        Span<ulong> words = stackalloc ulong[MaxContentWords];
        var shape = PromptAnalysis.Analyse(text, words);
        if (!shape.HasText)
        {
            return;
        }

        generation.TextRequests++;
        generation.Skeletons.Add(shape.SkeletonHash);
        var top = Math.Max(generation.Templates.Add(shape.PrefixHash), generation.Templates.Add(shape.SuffixHash ^ 0x5555_5555_5555_5555UL));
        generation.TopTemplate = Math.Max(generation.TopTemplate, top);
        foreach (var word in words[..shape.ContentWords])
        {
            generation.Topics.Add(word);
        }

        var bucket = (int)(shape.TopicHash >> (64 - WindowGeneration.TopicBits));
        generation.TopicBuckets[bucket >> 6] |= 1UL << (bucket & 63);
        generation.Capabilities[shape.Capability]++;

        // A follow-up turn resends the conversation so far: the new prompt starts with the previous one. Its first 4 KB
        // are the conversation's start, whose elicitation was counted on the first turn, so only first turns count.
        var bytes = MemoryMarshal.AsBytes(text.AsSpan());
        var followUp = _lastPromptLength > 0 && text.Length > _lastPromptLength && ticks - _lastTicks <= options.FollowUpWindow.Ticks
            && XxHash3.HashToUInt64(bytes[..(_lastPromptLength * 2)]) == _lastPromptHash;
        if (followUp)
        {
            generation.FollowUps++;
        }
        else
        {
            var elicited = shape.Elicitation >= 0.5;
            if (elicited)
            {
                generation.Elicited++;
                if (traits.LongOutput)
                {
                    generation.ElicitedLong++;
                }
            }

            // The soft-label conjunction: a generated answer (longer than a graded label) returned with its
            // log-probabilities at every position — the teacher's distribution along a continuation, what knowledge
            // distillation trains on (Hinton et al. 2015) — whatever words the prompt uses. Scoring an evaluation item
            // reads the distribution at one answer position; a prompt's own likelihood comes from echo, not generation.
            if (traits.SoftLabels)
            {
                generation.ElicitedLogprobs++;
            }
        }

        // Near-duplicate: within a few bits of one of the last 16 skeletons (Manku et al. 2007 used 3 of 64 for web pages;
        // short prompts with a filled slot move more bits).
        var recent = Math.Min(_recentCount, RecentFingerprints);
        for (var i = 0; i < recent; i++)
        {
            if (SimHashBuilder.Distance(_recent[i], shape.SimHash) <= options.NearDuplicateBits)
            {
                generation.NearDuplicates++;
                break;
            }
        }

        _recent[_recentCount++ % RecentFingerprints] = shape.SimHash;
        _lastPromptHash = promptHash;
        _lastPromptLength = text.Length;
    }

    /// <summary>The account's features at <paramref name="now"/>, NaN where the window holds too little to say.</summary>
    public WindowFeatures Features(DateTimeOffset now)
    {
        var values = new double[Detector.Count];
        Array.Fill(values, double.NaN);
        var nowHour = now.ToUnixTimeSeconds() / 3600;
        var hour1 = SumHours(_hourRequests, nowHour, 1);
        var day = SumHours(_hourRequests, nowHour, 24);
        var week = SumHours(_hourRequests, nowHour, RingHours);
        // Volume counts new requests only: repeats of an answered request harvest nothing (and cost the sender as much).
        values[(int)DetectorKind.VolumeHour] = hour1 - SumHours(_hourRepeats, nowHour, 1);
        values[(int)DetectorKind.VolumeDay] = day - SumHours(_hourRepeats, nowHour, 24);
        values[(int)DetectorKind.TokensOutDay] = Math.Max(0, SumHours(_hourTokens, nowHour, 24) - (RepeatTokenUnit * SumHours(_hourRepeatTokens, nowHour, 24)));
        if (_daysSeen >= 3)
        {
            values[(int)DetectorKind.VolumeSpike] = (day - _ewma) / Math.Sqrt(_ewVar + _ewma + 1);
        }

        if (week >= 2)
        {
            values[(int)DetectorKind.HourOfWeekEntropy] = HourEntropy(nowHour, week);
        }

        var generation = nowHour / GenerationHours;
        var current = _current.Index == generation || _current.Index == generation - 1 ? _current : null;
        var previous = _previous.Index == generation - 1 && current is not null && current != _previous ? _previous : null;
        var requests = (current?.Requests ?? 0) + (previous?.Requests ?? 0);
        var text = (current?.TextRequests ?? 0) + (previous?.TextRequests ?? 0);
        var followUps = (current?.FollowUps ?? 0) + (previous?.FollowUps ?? 0);
        if (requests == 0)
        {
            return new WindowFeatures(values, 0, week);
        }

        double Share(Func<WindowGeneration, int> count, int denominator) =>
            denominator == 0 ? double.NaN : (double)((current is null ? 0 : count(current)) + (previous is null ? 0 : count(previous))) / denominator;

        var gaps = (current?.GapCount ?? 0) + (previous?.GapCount ?? 0);
        if (gaps >= 5)
        {
            var (mean, variance) = MergedGaps(current, previous);
            var cv = mean <= 0 ? 0 : Math.Sqrt(variance) / mean;
            values[(int)DetectorKind.TimingRegularity] = 1 / (1 + cv);
        }

        values[(int)DetectorKind.LongOutputShare] = Share(static g => g.LongOutputs, requests);
        // Probing shape counts new requests too: re-reading the logprobs of an item already scored learns nothing.
        values[(int)DetectorKind.LogprobShare] = Share(static g => g.Logprobs - g.RepeatLogprobs, requests);
        values[(int)DetectorKind.MultiChoiceShare] = Share(static g => g.MultiChoice - g.RepeatMultiChoice, requests);
        var repeats = Share(static g => g.Repeats, requests);
        values[(int)DetectorKind.SamplingSweep] = Share(static g => g.NovelSettings, requests);
        values[(int)DetectorKind.MaxTokensCeilingShare] = Share(static g => g.AtCeiling, requests);
        values[(int)DetectorKind.LogprobEntries] = (current?.LogprobEntries ?? 0) + (previous?.LogprobEntries ?? 0);
        values[(int)DetectorKind.HarvestedTokens] = (current?.HarvestedTokens ?? 0) + (previous?.HarvestedTokens ?? 0);
        values[(int)DetectorKind.SampledLogprobShare] = Share(static g => g.SampledLogprobs, requests);
        values[(int)DetectorKind.PromptSettingSweep] = Share(static g => g.PromptSweeps, requests);
        if (text > 0)
        {
            // The count-min sketch never under-counts; the top template over two generations is bounded by their sum.
            values[(int)DetectorKind.TemplateConcentration] = Math.Min(1, Share(static g => g.TopTemplate, text));
            values[(int)DetectorKind.NearDuplicateShare] = Share(static g => g.NearDuplicates, text);
            values[(int)DetectorKind.ElicitationShare] = Share(static g => g.Elicited, text - followUps);
            values[(int)DetectorKind.ReasoningHarvestShare] = Share(static g => g.ElicitedLong, text - followUps);
            values[(int)DetectorKind.SoftLabelHarvestShare] = Share(static g => g.ElicitedLogprobs, text - followUps);
            values[(int)DetectorKind.SingleTurnShare] = 1 - Share(static g => g.FollowUps, text);
            values[(int)DetectorKind.TopicCoverage] = TopicCoverage(current, previous);
            values[(int)DetectorKind.TopicFocus] = TopicFocus(current, previous);
            if (current is not null && previous is not null && current.TextRequests >= 10 && previous.TextRequests >= 10)
            {
                values[(int)DetectorKind.TopicGrowth] = 1 - current.Topics.Jaccard(previous.Topics);
            }
        }

        return new WindowFeatures(values, requests, week) { RepeatShare = repeats };
    }

    private static double TopicCoverage(WindowGeneration? a, WindowGeneration? b)
    {
        var count = 0;
        for (var i = 0; i < (1 << WindowGeneration.TopicBits) / 64; i++)
        {
            count += System.Numerics.BitOperations.PopCount((a?.TopicBuckets[i] ?? 0) | (b?.TopicBuckets[i] ?? 0));
        }

        return count;
    }

    private static double TopicFocus(WindowGeneration? a, WindowGeneration? b)
    {
        var total = 0;
        var top = 0;
        for (var i = 1; i < Lexicons.CapabilityNames.Length; i++)
        {
            var count = (a?.Capabilities[i] ?? 0) + (b?.Capabilities[i] ?? 0);
            total += count;
            top = Math.Max(top, count);
        }

        // Requests that name no area still dilute the focus: a narrow farmer names its area in nearly every prompt.
        var none = (a?.Capabilities[0] ?? 0) + (b?.Capabilities[0] ?? 0);
        return total == 0 ? 0 : (double)top / (total + none);
    }

    private static (double Mean, double Variance) MergedGaps(WindowGeneration? a, WindowGeneration? b)
    {
        // Chan et al.'s parallel combination of two Welford accumulators.
        double n1 = a?.GapCount ?? 0, n2 = b?.GapCount ?? 0;
        double m1 = a?.GapMean ?? 0, m2 = b?.GapMean ?? 0;
        double s1 = a?.GapM2 ?? 0, s2 = b?.GapM2 ?? 0;
        var n = n1 + n2;
        var delta = m2 - m1;
        var mean = m1 + (delta * n2 / n);
        var m2Total = s1 + s2 + (delta * delta * n1 * n2 / n);
        return (mean, n > 1 ? m2Total / (n - 1) : 0);
    }

    private double HourEntropy(long nowHour, int total)
    {
        var entropy = 0.0;
        for (var h = nowHour - RingHours + 1; h <= nowHour; h++)
        {
            var count = RingValue(_hourRequests, h);
            if (count > 0)
            {
                var p = (double)count / total;
                entropy -= p * Math.Log(p);
            }
        }

        return entropy / Math.Log(RingHours);
    }

    private int SumHours(int[] ring, long nowHour, int hours)
    {
        long sum = 0;
        for (var h = nowHour - hours + 1; h <= nowHour; h++)
        {
            sum += RingValue(ring, h);
        }

        return (int)Math.Min(sum, int.MaxValue);
    }

    private int SumHours(ushort[] ring, long nowHour, int hours)
    {
        var sum = 0;
        for (var h = nowHour - hours + 1; h <= nowHour; h++)
        {
            sum += Value(h);
        }

        return sum;

        int Value(long h) => h <= _latestHour && h > _latestHour - RingHours ? ring[(int)(h % RingHours)] : 0;
    }

    private int RingValue(int[] ring, long hour) =>
        hour <= _latestHour && hour > _latestHour - RingHours ? ring[(int)(hour % RingHours)] : 0;

    private void PlaceInRing(long hour, int tokens, bool repeat)
    {
        if (_latestHour == long.MinValue || hour - _latestHour >= RingHours)
        {
            Array.Clear(_hourRequests);
            Array.Clear(_hourTokens);
            Array.Clear(_hourRepeats);
            Array.Clear(_hourRepeatTokens);
            _latestHour = hour;
        }
        else if (hour > _latestHour)
        {
            for (var h = _latestHour + 1; h <= hour; h++)
            {
                _hourRequests[h % RingHours] = 0;
                _hourTokens[h % RingHours] = 0;
                _hourRepeats[h % RingHours] = 0;
                _hourRepeatTokens[h % RingHours] = 0;
            }

            _latestHour = hour;
        }
        else if (hour <= _latestHour - RingHours)
        {
            return;
        }

        var slot = (int)(hour % RingHours);
        _hourRequests[slot] = _hourRequests[slot] == int.MaxValue ? int.MaxValue : _hourRequests[slot] + 1;
        _hourTokens[slot] = (int)Math.Min((long)_hourTokens[slot] + tokens, int.MaxValue);
        if (repeat && _hourRepeats[slot] < ushort.MaxValue && _hourRequests[slot] != int.MaxValue)
        {
            _hourRepeats[slot]++;
            _hourRepeatTokens[slot] = (ushort)Math.Min(_hourRepeatTokens[slot] + (tokens / RepeatTokenUnit), ushort.MaxValue);
        }
    }

    private void RollDays(long day)
    {
        if (_day == long.MinValue)
        {
            _day = day;
            return;
        }

        // Close every finished day (idle days count as zero, at most a week of them) into the EWMA.
        var closed = 0;
        while (day > _day && closed < 8)
        {
            if (_daysSeen == 0)
            {
                _ewma = _dayCount;
            }
            else
            {
                var delta = _dayCount - _ewma;
                _ewma += EwmaLambda * delta;
                _ewVar = (1 - EwmaLambda) * (_ewVar + (EwmaLambda * delta * delta));
            }

            _daysSeen++;
            _dayCount = 0;
            _day++;
            closed++;
        }

        if (day > _day)
        {
            _day = day;
        }
    }

    private WindowGeneration? GenerationFor(long index)
    {
        if (index == _current.Index)
        {
            return _current;
        }

        if (index > _current.Index)
        {
            if (index == _current.Index + 1)
            {
                (_previous, _current) = (_current, _previous);
            }
            else
            {
                _previous.Reset(index - 1);
            }

            _current.Reset(index);
            return _current;
        }

        return index == _previous.Index ? _previous : null;
    }
}
