using DistillGuard.Usage;

namespace DistillGuard.Detection.Tests.Engine;

/// <summary>Small hand-made traffic for engine tests: casual users and a templated reasoning harvester.</summary>
internal static class SyntheticTraffic
{
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] Topics =
    [
        "pancakes", "my landlord", "the heater", "a birthday poem", "tax forms", "a job interview", "the garden", "my cat",
        "a trip to Lisbon", "learning guitar", "a budget", "the quarterly report", "sourdough", "running shoes", "a wedding toast",
        "the council vote", "insomnia", "a cover letter", "chess openings", "the weather", "moving house", "a spreadsheet formula",
    ];

    private static readonly string[] Openers =
    [
        "Can you help me with {0}?", "What do you think about {0}", "Give me three ideas for {0}.", "I need advice on {0}, any tips?",
        "Write a short note about {0}.", "how do i deal with {0}", "Quick question on {0}: what matters most?", "Summarise what you know about {0}.",
    ];

    private static readonly string[] Subjects =
    [
        "photosynthesis", "the French revolution", "binary search", "plate tectonics", "compound interest", "the immune system",
        "quicksort", "supply and demand", "the water cycle", "general relativity", "protein folding", "the Roman senate",
    ];

    /// <summary>A casual user: a few sessions a day at waking hours, short diverse prompts, some follow-ups.</summary>
    public static IEnumerable<UsageEvent> Casual(string account, int seed, int days = 7, DateTimeOffset? start = null)
    {
        var random = new Random(seed);
        var begin = start ?? Start;
        var id = 0;
        for (var day = 0; day < days; day++)
        {
            var sessions = random.Next(0, 4);
            for (var s = 0; s < sessions; s++)
            {
                var time = begin.AddDays(day).AddHours(8 + random.Next(0, 14)).AddMinutes(random.Next(0, 60));
                var prompt = string.Format(System.Globalization.CultureInfo.InvariantCulture, Openers[random.Next(Openers.Length)], Topics[random.Next(Topics.Length)]);
                var turns = random.Next(1, 4);
                for (var t = 0; t < turns; t++)
                {
                    yield return Event(account, ref id, time, prompt, completion: random.Next(40, 400), maxTokens: null);
                    prompt += "\nSure, here is an answer.\n" + (random.Next(2) == 0 ? "Thanks, and what else?" : "Can you make it shorter?");
                    time = time.AddMinutes(random.Next(1, 6));
                }
            }
        }
    }

    /// <summary>A harvester: one reasoning-elicitation template around the clock, long answers at the ceiling.</summary>
    public static IEnumerable<UsageEvent> Harvester(string account, int seed, int requests, TimeSpan span, DateTimeOffset? start = null)
    {
        var random = new Random(seed);
        var begin = start ?? Start;
        var id = 0;
        for (var i = 0; i < requests; i++)
        {
            var time = begin + (span * i / requests) + TimeSpan.FromSeconds(random.Next(0, 20));
            var prompt = $"You are an expert data analyst. Provide complete and transparent reasoning for every answer.\nExplain {Subjects[random.Next(Subjects.Length)]} in case {random.Next(1, 100_000)}. Show every step of your reasoning step by step before the final answer.";
            yield return Event(account, ref id, time, prompt, completion: 4096, maxTokens: 4096);
        }
    }

    public static UsageEvent Event(string account, ref int id, DateTimeOffset time, string? prompt, int completion, int? maxTokens, int n = 1, bool logprobs = false) => new()
    {
        RequestId = $"{account}-{id++}",
        Timestamp = time,
        AccountId = account,
        Endpoint = "chat.completions",
        Model = "dg-teacher",
        PromptText = prompt,
        PromptTokens = prompt is null ? 0 : prompt.Length / 4,
        CompletionTokens = completion,
        MaxTokens = maxTokens,
        N = n,
        Logprobs = logprobs,
        Status = 200,
        FinishReason = maxTokens is { } m && completion >= m ? "length" : "stop",
    };

    /// <summary>Merges per-account streams into one time-ordered stream.</summary>
    public static IEnumerable<UsageEvent> Merge(params IEnumerable<UsageEvent>[] streams) =>
        streams.SelectMany(s => s).OrderBy(e => e.Timestamp).ThenBy(e => e.RequestId, StringComparer.Ordinal);
}
