namespace DistillGuard.Detection.Scoring;

/// <summary>The per-account detectors; each turns one window feature into an empirical p-value against benign traffic.</summary>
public enum DetectorKind
{
    VolumeHour,
    VolumeDay,
    TokensOutDay,
    VolumeSpike,
    HourOfWeekEntropy,
    TimingRegularity,
    TemplateConcentration,
    NearDuplicateShare,
    TopicCoverage,
    TopicGrowth,
    TopicFocus,
    ElicitationShare,
    LongOutputShare,
    LogprobShare,
    MultiChoiceShare,
    MaxTokensCeilingShare,
    SingleTurnShare,
    ReasoningHarvestShare,
    SamplingSweep,
    LogprobEntries,
    HarvestedTokens,
    SoftLabelHarvestShare,
    PromptSettingSweep,
    SampledLogprobShare,
    SemanticTemplate,
    IntentNearness,
    SemanticBreadth,
    CohortMmd,
}

/// <summary>A detector's reason code, what its value means, and whether its reference is split by evidence size.</summary>
/// <param name="Code">Stable reason code shown to analysts and in the admin API.</param>
/// <param name="Meaning">What a high value means, for reason details.</param>
/// <param name="ByEvidence">
/// True when references are kept per evidence band (requests in the window). Every detector is banded: a heavy account
/// is compared with heavy benign accounts (batch jobs, benchmark labs, support bots), not with casual users it will
/// always out-volume; shares and entropies also have a spread that depends on how many requests they are computed from.
/// </param>
/// <param name="Group">Detectors that measure one thing several ways (volume, timing, templates, topics, harvest, extraction, request shape, sessions); only the strongest of a group counts.</param>
/// <param name="TailFloor">
/// Smallest scale of the exponential tail beyond the largest benign value, in the feature's units: 0.05 for shares (an
/// account 0.05 above every benign one is e times less likely, one a full 0.5 above is e^10 less likely), 0.02 for the
/// entropy and regularity indices, 2 buckets for coverage, 0.5 for a z-score; 0 keeps the relative floor for counts.
/// </param>
public sealed record Detector(DetectorKind Kind, string Code, string Meaning, bool ByEvidence, string Group, double TailFloor = 0)
{
    private const double Share = 0.05;

    /// <summary>Every detector, indexed by <see cref="DetectorKind"/>.</summary>
    public static readonly IReadOnlyList<Detector> All =
    [
        new(DetectorKind.VolumeHour, "volume_1h", "new requests (not exact repeats of answered ones) in the last hour", true, "volume"),
        new(DetectorKind.VolumeDay, "volume_24h", "new requests (not exact repeats of answered ones) in the last 24 h", true, "volume"),
        new(DetectorKind.TokensOutDay, "tokens_out_24h", "completion tokens per choice (n > 1 counted once) of new requests in the last 24 h", true, "volume"),
        new(DetectorKind.VolumeSpike, "volume_spike", "last 24 h against the account's own daily EWMA (z)", true, "volume", 0.5),
        new(DetectorKind.HourOfWeekEntropy, "hour_of_week_entropy", "how evenly requests spread over the 168 hours of the week (1 = flat 24x7)", true, "timing", 0.02),
        new(DetectorKind.TimingRegularity, "timing_regularity", "1/(1+CV) of inter-arrival gaps (0.5 = Poisson, near 1 = clockwork)", true, "timing", 0.02),
        new(DetectorKind.TemplateConcentration, "template_concentration", "share of requests in the account's most used prompt template", true, "templates", Share),
        new(DetectorKind.NearDuplicateShare, "near_duplicate_share", "share of requests within a few SimHash bits of a recent one", true, "templates", Share),
        new(DetectorKind.TopicCoverage, "topic_coverage", "distinct topic buckets touched (of 1,024)", true, "topics", 2),
        new(DetectorKind.TopicGrowth, "topic_growth", "1 - Jaccard of this half-week's topic words and the last", true, "topics", Share),
        new(DetectorKind.TopicFocus, "topic_focus", "share of requests in the top capability area", true, "topics", Share),
        new(DetectorKind.ElicitationShare, "elicitation_share", "share of first turns (not follow-ups) asking for reasoning traces, rubrics or task lists", true, "harvest", Share),
        new(DetectorKind.LongOutputShare, "long_output_share", "share of answers over 1,000 tokens per choice or cut at a max_tokens of at least 1,000", true, "harvest", Share),
        new(DetectorKind.LogprobShare, "logprob_share", "share of requests that are new and ask for logprobs", true, "shape", Share),
        new(DetectorKind.MultiChoiceShare, "multi_choice_share", "share of requests that are new and have n > 1", true, "shape", Share),
        new(DetectorKind.MaxTokensCeilingShare, "max_tokens_ceiling_share", "share of requests asking for max_tokens at the ceiling", true, "shape", Share),
        new(DetectorKind.SingleTurnShare, "single_turn_share", "share of requests that do not continue a conversation", true, "sessions", Share),

        // The conjunction is its own group: asking for reasoning (students, eval harnesses) and getting long answers
        // (developers) are each common; both on the same request, request after request, is what trace harvesting is.
        new(DetectorKind.ReasoningHarvestShare, "reasoning_harvest_share", "share of first turns that ask for reasoning traces and get a long answer", true, "extraction", Share),

        // Its own group: request shape says what one request asks for; reaching for new temperatures, top_logprobs and n
        // request after request is a measurement of the model's output distribution (logit and parameter stealing), where
        // an application cycles among the few settings its code fixes and an evaluation changes them once per run.
        new(DetectorKind.SamplingSweep, "sampling_sweep", "share of requests whose sampling settings (temperature, top_p, logprobs, top_logprobs, n) are a fifth or later, not among the account's 4 most recent", true, "sampling", Share),

        // Harvest value beyond answer length: what a request returns that a student model trains on. A soft label is one
        // log-probability returned (max(1, top_logprobs) per token of every choice, and per prompt token when the prompt
        // is echoed with logprobs); soft labels carry far more of the teacher per token than its text does (Hinton et al.
        // 2015), so a short-answer logprob harvest extracts much while its answers stay short. Counted for new requests
        // only, over the content window, and compared with the cohort's heavy users in the same evidence band. The tail
        // floor is in entries: 2,000 is a benchmark's multiple-choice run (400 items at top-5), so one such run beyond
        // every benign account is e times less likely, not a certainty.
        new(DetectorKind.LogprobEntries, "logprob_entries", "log-probabilities returned (soft labels: tokens of every choice, and echoed prompt tokens, times max(1, top_logprobs)) for new requests in the window", true, "information", 2000),
        // Total information is a volume: it shares the volume group so that a plain text harvest is not charged twice.
        new(DetectorKind.HarvestedTokens, "harvested_tokens", "information extracted: completion tokens of every choice (n samples count n times) plus log-probabilities returned, for new requests in the window", true, "volume", 2000),

        // A generated answer and its soft labels on the same first turn: evaluations score a graded answer's one
        // position with logprobs, or generate without them; a soft-label harvest takes the distribution at every
        // position of every answer, whatever its prompts say. Same group as reasoning_harvest_share: both are the
        // "generated at length and took the teacher's signal away" conjunction.
        new(DetectorKind.SoftLabelHarvestShare, "soft_label_harvest_share", "share of first turns whose generated answer (longer than a graded label of 3 tokens) comes back with its log-probabilities", true, "extraction", Share),

        // Measuring the output distribution of one prompt: the same prompt text answered under a fourth or later distinct
        // sampling setting. An evaluation re-runs an item greedy and sampled, a red-teamer retries an attack at two or three
        // temperatures; a prober sweeps temperatures and top_logprobs on it, however few settings it uses in all.
        new(DetectorKind.PromptSettingSweep, "prompt_setting_sweep", "share of requests that ask a prompt already answered under three other sampling settings (temperature, top_p, logprobs, top_logprobs, n) again under a new one", true, "sampling", Share),

        // Samples and the distribution at once: pass@k needs n samples and scoring needs logprobs, no evaluation needs
        // both on one request; estimating the output distribution does.
        new(DetectorKind.SampledLogprobShare, "sampled_logprob_share", "share of new requests that ask for n > 1 samples and their logprobs together", true, "sampling", Share),

        // Sentence-embedding evidence (DistillGuard.Semantics, through IFeatureExtension): NaN unless an extension fills it.
        // Each joins the group of the lexical detector it generalises, so one behaviour seen both ways counts once.
        new(DetectorKind.SemanticTemplate, "semantic_template", "share of sampled prompts whose meaning is a near-duplicate (embedding cosine ≥ 0.6) of an earlier one, whatever the wording", true, "templates", Share),
        new(DetectorKind.IntentNearness, "intent_nearness", "share of sampled prompts close in meaning to a request for step-by-step reasoning or full worked solutions", true, "harvest", Share),
        new(DetectorKind.SemanticBreadth, "semantic_breadth", "1 - mean cosine between the account's sampled prompts (spread over embedding space)", true, "topics", 0.02),

        // Its own group: how far the account's prompts as a whole sit from its cohort's, not any one property of them.
        new(DetectorKind.CohortMmd, "cohort_mmd", "maximum mean discrepancy (Gaussian kernel on embeddings) between the account's sampled prompts and its cohort's", true, "distribution", 0.005),
    ];

    /// <summary>Group names in a stable order.</summary>
    public static readonly IReadOnlyList<string> Groups = [.. All.Select(d => d.Group).Distinct()];

    /// <summary>Index of <see cref="Group"/> in <see cref="Groups"/>.</summary>
    public int GroupIndex => Groups is { } groups ? IndexOfGroup(groups, Group) : 0;

    private static int IndexOfGroup(IReadOnlyList<string> groups, string group)
    {
        for (var i = 0; i < groups.Count; i++)
        {
            if (groups[i] == group)
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>The detector with this reason code, or null.</summary>
    public static Detector? ByCode(string code)
    {
        foreach (var detector in All)
        {
            if (detector.Code == code)
            {
                return detector;
            }
        }

        return null;
    }

    /// <summary>Number of detectors.</summary>
    public static int Count => All.Count;
}
