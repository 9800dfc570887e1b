namespace DistillGuard.Gateway.Tests.Infrastructure;

/// <summary>A templated reasoning-elicitation harvest, as disclosed campaigns ran them: one template, many subjects.</summary>
internal static class HarvestPrompts
{
    private static readonly string[] s_subjects =
    [
        "photosynthesis", "binary search", "plate tectonics", "compound interest", "the immune system", "quicksort",
        "supply and demand", "the water cycle", "general relativity", "protein folding", "the Roman senate", "entropy",
    ];

    /// <summary>
    /// How many requests a test harvest sends: enough that the flag does not hinge on timing features, which vary
    /// with the machine's load (160 left one run in ten just under the review band on a loaded machine).
    /// </summary>
    public const int Count = 240;

    /// <summary>The <paramref name="i"/>-th prompt of the harvest.</summary>
    public static string Prompt(int i) =>
        $"You are an expert data analyst. Provide complete and transparent reasoning for every answer.\\nExplain {s_subjects[i % s_subjects.Length]} for case {i * 7919 % 10_000}. Show every step of your reasoning step by step before the final answer.";
}
