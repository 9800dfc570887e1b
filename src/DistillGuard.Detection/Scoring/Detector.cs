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
}

/// <summary>A detector's reason code, what its value means, and whether its reference is split by evidence size.</summary>
/// <param name="Code">Stable reason code shown to analysts and in the admin API.</param>
/// <param name="Meaning">What a high value means, for reason details.</param>
/// <param name="ByEvidence">
/// True when references are kept per evidence band (requests in the window). Every detector is banded: a heavy account
/// is compared with heavy benign accounts (batch jobs, benchmark labs, support bots), not with casual users it will
/// always out-volume; shares and entropies also have a spread that depends on how many requests they are computed from.
/// </param>
/// <param name="Group">Detectors that measure one thing several ways (volume, timing, templates, topics, harvest, request shape, sessions); only the strongest of a group counts.</param>
public sealed record Detector(DetectorKind Kind, string Code, string Meaning, bool ByEvidence, string Group)
{
    /// <summary>Every detector, indexed by <see cref="DetectorKind"/>.</summary>
    public static readonly IReadOnlyList<Detector> All =
    [
        new(DetectorKind.VolumeHour, "volume_1h", "requests in the last hour", true, "volume"),
        new(DetectorKind.VolumeDay, "volume_24h", "requests in the last 24 h", true, "volume"),
        new(DetectorKind.TokensOutDay, "tokens_out_24h", "completion tokens in the last 24 h", true, "volume"),
        new(DetectorKind.VolumeSpike, "volume_spike", "last 24 h against the account's own daily EWMA (z)", true, "volume"),
        new(DetectorKind.HourOfWeekEntropy, "hour_of_week_entropy", "how evenly requests spread over the 168 hours of the week (1 = flat 24x7)", true, "timing"),
        new(DetectorKind.TimingRegularity, "timing_regularity", "1/(1+CV) of inter-arrival gaps (0.5 = Poisson, near 1 = clockwork)", true, "timing"),
        new(DetectorKind.TemplateConcentration, "template_concentration", "share of requests in the account's most used prompt template", true, "templates"),
        new(DetectorKind.NearDuplicateShare, "near_duplicate_share", "share of requests within a few SimHash bits of a recent one", true, "templates"),
        new(DetectorKind.TopicCoverage, "topic_coverage", "distinct topic buckets touched (of 1,024)", true, "topics"),
        new(DetectorKind.TopicGrowth, "topic_growth", "1 - Jaccard of this half-week's topic words and the last", true, "topics"),
        new(DetectorKind.TopicFocus, "topic_focus", "share of requests in the top capability area", true, "topics"),
        new(DetectorKind.ElicitationShare, "elicitation_share", "share of requests asking for reasoning traces, rubrics or task lists", true, "harvest"),
        new(DetectorKind.LongOutputShare, "long_output_share", "share of answers cut at max_tokens or over 1,000 tokens", true, "harvest"),
        new(DetectorKind.LogprobShare, "logprob_share", "share of requests asking for logprobs", true, "shape"),
        new(DetectorKind.MultiChoiceShare, "multi_choice_share", "share of requests with n > 1", true, "shape"),
        new(DetectorKind.MaxTokensCeilingShare, "max_tokens_ceiling_share", "share of requests asking for max_tokens at the ceiling", true, "shape"),
        new(DetectorKind.SingleTurnShare, "single_turn_share", "share of requests that do not continue a conversation", true, "sessions"),
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

    /// <summary>Number of detectors.</summary>
    public static int Count => All.Count;
}
