using System.Globalization;
using System.Runtime.CompilerServices;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Usage;

namespace DistillGuard.Benchmarks.Campaigns;

/// <summary>Synthetic traffic for the campaign linker in virtual time: a fleet and a legitimate background, seeded.</summary>
internal static class CampaignTraffic
{
    public static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private const string FleetPersona = "You are a meticulous expert tutor. Always reason completely and show all of your work.";
    private const string HarnessPrompt = "You are CodePilot, an autonomous coding agent. Use the tools provided and answer in markdown.";
    private static readonly string[] s_subjects =
    [
        "photosynthesis", "binary search", "plate tectonics", "compound interest", "the immune system", "quicksort", "supply and demand",
        "the water cycle", "general relativity", "protein folding", "the Roman senate", "entropy", "dynamic programming", "inflation",
        "neural networks", "the French revolution", "graph colouring", "enzyme kinetics", "monetary policy", "black holes",
    ];

    /// <summary>How a fleet is run.</summary>
    /// <param name="Accounts">Fleet size.</param>
    /// <param name="PerDay">Requests per account per day.</param>
    /// <param name="AccountsPerNetwork">Accounts behind each proxy /24.</param>
    /// <param name="InWaves">True: one orchestrator fires every account within a few minutes, <paramref name="PerDay"/> times a day; false: each account at its own random times.</param>
    public sealed record FleetShape(int Accounts, double PerDay, int AccountsPerNetwork, bool InWaves);

    public static CampaignIdentity[] FleetIdentities(FleetShape shape, int seed)
    {
        var random = new Random(seed);
        // Own card per account (cards are bought in bulk), sign-ups spread over six weeks: neither links the fleet.
        return [.. Enumerable.Range(0, shape.Accounts).Select(i => new CampaignIdentity(
            $"fleet-{i:D5}", null, "free", false, $"card-{random.NextInt64():x16}", Start.AddDays(-random.Next(1, 42)).AddMinutes(random.Next(0, 1440))))];
    }

    /// <summary>The fleet's requests from <see cref="Start"/> for <paramref name="duration"/>, in time order.</summary>
    public static IEnumerable<UsageEvent> Fleet(FleetShape shape, TimeSpan duration, int seed)
    {
        var random = new Random(seed);
        var events = new List<UsageEvent>();
        var period = TimeSpan.FromDays(1) / shape.PerDay;
        for (var a = 0; a < shape.Accounts; a++)
        {
            var network = a / shape.AccountsPerNetwork;
            var address = string.Create(CultureInfo.InvariantCulture, $"{100 + (network / 250 % 100)}.{network % 250}.{(network * 7) % 250}.{1 + (a % 250)}");
            var t = shape.InWaves ? TimeSpan.FromMinutes(random.NextDouble() * 4) : TimeSpan.FromTicks((long)(random.NextDouble() * period.Ticks));
            for (var n = 0; t < duration; n++)
            {
                events.Add(Harvest($"fleet-{a:D5}", n, Start + t, address, random));
                t = shape.InWaves
                    ? (period * (n + 1)) + TimeSpan.FromMinutes(random.NextDouble() * 4)
                    : t + TimeSpan.FromTicks((long)(-Math.Log(1 - random.NextDouble()) * period.Ticks));
            }
        }

        events.Sort(static (x, y) => x.Timestamp.CompareTo(y.Timestamp));
        return events;
    }

    /// <summary>Legitimate identities: casual users, harness users sharing one system prompt and client, and student classes behind NATs.</summary>
    public static CampaignIdentity[] BackgroundIdentities(int casual, int harness, int students, int seed)
    {
        var random = new Random(seed);
        var list = new List<CampaignIdentity>();
        for (var i = 0; i < casual; i++)
        {
            list.Add(new($"user-{i:D6}", null, "standard", false, $"card-{random.NextInt64():x16}", Start.AddDays(-random.Next(1, 700))));
        }

        for (var i = 0; i < harness; i++)
        {
            list.Add(new($"harness-{i:D5}", null, "standard", false, $"card-{random.NextInt64():x16}", Start.AddDays(-random.Next(1, 300))));
        }

        for (var i = 0; i < students; i++)
        {
            list.Add(new($"student-{i:D5}", $"univ-{i / 40:D3}", "edu", false, $"card-{random.NextInt64():x16}", Start.AddDays(-random.Next(1, 60))));
        }

        return [.. list];
    }

    /// <summary>The background's requests for <paramref name="duration"/>, in time order (<paramref name="perDay"/> per account per day on average).</summary>
    public static List<UsageEvent> Background(IReadOnlyList<CampaignIdentity> identities, TimeSpan duration, double perDay, int seed)
    {
        var random = new Random(seed);
        var events = new List<UsageEvent>();
        foreach (var identity in identities)
        {
            var id = identity.AccountId;
            var rate = perDay * (0.2 + (random.NextDouble() * 1.6));
            var requests = (int)(rate * duration.TotalDays);
            var student = id.StartsWith("student-", StringComparison.Ordinal);
            var group = student ? int.Parse(id[8..], CultureInfo.InvariantCulture) / 40 : 0;
            var address = student
                ? string.Create(CultureInfo.InvariantCulture, $"198.18.{group % 250}.77")
                : string.Create(CultureInfo.InvariantCulture, $"{10 + random.Next(0, 200)}.{random.Next(0, 250)}.{random.Next(0, 250)}.{random.Next(1, 250)}");
            for (var n = 0; n < requests; n++)
            {
                // Students work together before a deadline (the class's evening); others whenever they like.
                var at = student
                    ? Start + TimeSpan.FromHours(18 + random.NextDouble() * 5) + TimeSpan.FromDays(random.Next(0, Math.Max(1, (int)duration.TotalDays)))
                    : Start + TimeSpan.FromTicks((long)(random.NextDouble() * duration.Ticks));
                if (at >= Start + duration)
                {
                    continue;
                }

                var subject = s_subjects[random.Next(s_subjects.Length)];
                var prompt = id[0] switch
                {
                    'h' => $"{HarnessPrompt}\nTask {random.Next(100000)}: refactor the {subject} module and add tests.",
                    's' => $"For my {group} class assignment: explain {subject} step by step and give one example. Max 300 words.",
                    _ => $"{subject} question {random.Next(100000)}: what do people usually get wrong about {s_subjects[random.Next(s_subjects.Length)]}?",
                };
                events.Add(new UsageEvent
                {
                    RequestId = $"{id}-{n}",
                    Timestamp = at,
                    AccountId = id,
                    ClientAddress = address,
                    UserAgent = id[0] switch { 'h' => "CodePilot/3.2 OpenAI/Python 1.54.4", 's' => "Mozilla/5.0 (course portal)", _ => "OpenAI/Python 1.54.4" },
                    Endpoint = "chat.completions",
                    Model = "dg-teacher",
                    Temperature = id[0] == 'h' ? 0.2 : null,
                    MaxTokens = id[0] == 'h' ? 4096 : null,
                    Stream = id[0] != 'h',
                    PromptText = prompt,
                    PromptTokens = prompt.Length / 4,
                    CompletionTokens = 150 + random.Next(0, 500),
                    Status = 200,
                    FinishReason = "stop",
                });
            }
        }

        events.Sort(static (x, y) => x.Timestamp.CompareTo(y.Timestamp));
        return events;
    }

    private static UsageEvent Harvest(string account, int n, DateTimeOffset at, string address, Random random)
    {
        var prompt = $"{FleetPersona}\nExplain {s_subjects[random.Next(s_subjects.Length)]} for case {random.Next(100000)}. Think step by step and show every step of your reasoning before the final answer.";
        return new UsageEvent
        {
            RequestId = $"{account}-{n}",
            Timestamp = at,
            AccountId = account,
            ClientAddress = address,
            UserAgent = "python-httpx/0.27.0",
            Endpoint = "chat.completions",
            Model = "dg-teacher",
            Temperature = 0.7,
            MaxTokens = 4096,
            PromptText = prompt,
            PromptTokens = prompt.Length / 4,
            CompletionTokens = 900 + random.Next(0, 1200),
            Status = 200,
            FinishReason = "stop",
        };
    }

    /// <summary>Merges time-ordered streams into one.</summary>
    public static IEnumerable<UsageEvent> Merge(IEnumerable<UsageEvent> a, IEnumerable<UsageEvent> b)
    {
        using var x = a.GetEnumerator();
        using var y = b.GetEnumerator();
        bool hasX = x.MoveNext(), hasY = y.MoveNext();
        while (hasX || hasY)
        {
            if (hasX && (!hasY || x.Current.Timestamp <= y.Current.Timestamp))
            {
                yield return x.Current;
                hasX = x.MoveNext();
            }
            else
            {
                yield return y.Current;
                hasY = y.MoveNext();
            }
        }
    }
}

/// <summary>A usage history in memory (the events appended so far, per account), for virtual-time runs.</summary>
internal sealed class MemoryUsageHistory : IUsageHistory
{
    private readonly Dictionary<string, List<UsageEvent>> _byAccount = new(StringComparer.Ordinal);

    public void Add(UsageEvent e)
    {
        if (e.AccountId is not { } id)
        {
            return;
        }

        if (!_byAccount.TryGetValue(id, out var list))
        {
            _byAccount[id] = list = [];
        }

        list.Add(e);
    }

    public async IAsyncEnumerable<UsageEvent> ReadAccountsAsync(IReadOnlyCollection<string> accountIds, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        var selected = new List<UsageEvent>();
        foreach (var id in accountIds)
        {
            if (_byAccount.TryGetValue(id, out var list))
            {
                selected.AddRange(list.Where(e => e.Timestamp >= from && e.Timestamp < to));
            }
        }

        selected.Sort(static (x, y) => x.Timestamp.CompareTo(y.Timestamp));
        foreach (var e in selected)
        {
            yield return e;
        }
    }
}
