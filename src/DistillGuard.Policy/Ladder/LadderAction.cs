namespace DistillGuard.Policy.Ladder;

/// <summary>The rungs of the response ladder, mildest first.</summary>
public enum LadderAction
{
    /// <summary>Record and watch; the answer is untouched.</summary>
    Monitor,

    /// <summary>Stronger watermark (higher δ) and the tracing payload on.</summary>
    WatermarkBoost,

    /// <summary>No logprobs, one choice, capped length, reasoning traces sealed (or stripped).</summary>
    ReduceDistillability,

    /// <summary>Tighter per-account and per-campaign token buckets.</summary>
    Throttle,

    /// <summary>403 until the account completes identity verification.</summary>
    RequireVerification,

    /// <summary>403 for every request; only after a human approved it in the review queue.</summary>
    Suspend,
}

/// <summary>The names of <see cref="LadderAction"/> in policy files and the API.</summary>
public static class LadderActionNames
{
    private static readonly string[] s_names = ["monitor", "watermark_boost", "reduce_distillability", "throttle", "require_verification", "suspend"];

    public static string Name(this LadderAction action) => s_names[(int)action];

    public static bool TryParse(string name, out LadderAction action)
    {
        var index = Array.IndexOf(s_names, name);
        action = (LadderAction)Math.Max(index, 0);
        return index >= 0;
    }

    public static IReadOnlyList<string> All => s_names;
}
