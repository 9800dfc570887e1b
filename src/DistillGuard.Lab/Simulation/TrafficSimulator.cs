using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Lab.Simulation;

/// <summary>Generates labelled API traffic from parameterised attacker and legitimate archetypes, in virtual time.</summary>
/// <remarks>Thread-safe: every call builds its own state; the same options always give the same events.</remarks>
public static class TrafficSimulator
{
    private static readonly Archetype[] s_archetypes = ArchetypeCatalogue.All;

    /// <summary>Every archetype name, legitimate first.</summary>
    public static IReadOnlyList<string> Archetypes { get; } = [.. s_archetypes.Select(a => a.Name)];

    /// <summary>Names of the distillation / extraction archetypes.</summary>
    public static IReadOnlyList<string> AttackerArchetypes { get; } = [.. s_archetypes.Where(a => a.IsAttacker).Select(a => a.Name)];

    /// <summary>Names of the legitimate archetypes (the licensed synthetic-data customer included).</summary>
    public static IReadOnlyList<string> LegitimateArchetypes { get; } = [.. s_archetypes.Where(a => !a.IsAttacker).Select(a => a.Name)];

    /// <summary>
    /// Names of the held-out archetypes, attackers and legitimate: families no detector was developed or calibrated on,
    /// generated only with <see cref="ScenarioOptions.IncludeHeldOut"/>.
    /// </summary>
    public static IReadOnlyList<string> HeldOutArchetypes { get; } = [.. s_archetypes.Where(a => a.HeldOut).Select(a => a.Name)];

    /// <summary>Parses a phrasing source's name: simulator, wordnet or heldout.</summary>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static PhrasingSource ParsePhrasings(string name) => Phrasings.Parse(name);

    /// <summary>One sentence on what an archetype stands for.</summary>
    public static string Describe(string archetype) => Find(archetype).Description;

    /// <summary>Accounts an archetype gets under the options (before any generation).</summary>
    public static int AccountCount(string archetype, ScenarioOptions options) => Count(Find(archetype), options);

    /// <summary>The scenario's accounts with their stable attributes, in generation order.</summary>
    public static IReadOnlyList<SimulatedAccount> Accounts(ScenarioOptions options) => [.. CreateAccounts(options).Select(a => a.Account)];

    /// <summary>All events of the scenario in time order (ties broken by account order); lazily generated.</summary>
    public static IEnumerable<LabelledEvent> Generate(ScenarioOptions options)
    {
        Validate(options);
        var corpus = PromptCorpus.Shared;
        var accounts = CreateAccounts(options);
        var tokens = new TokenCounter();
        var queue = new PriorityQueue<IEnumerator<LabelledEvent>, (long Ticks, int Account)>(accounts.Count);
        var streams = new List<IEnumerator<LabelledEvent>>(accounts.Count);
        try
        {
            for (var i = 0; i < accounts.Count; i++)
            {
                var (archetype, account, ordinal) = accounts[i];
                var run = new AccountRun(account, SimulationRandom.For(options.Seed, account.Id), options, corpus, ordinal);
                var stream = Materialise(archetype, run, i, tokens).GetEnumerator();
                streams.Add(stream);
                if (stream.MoveNext())
                {
                    queue.Enqueue(stream, (stream.Current.Event.Timestamp.UtcTicks, i));
                }
            }

            while (queue.TryDequeue(out var stream, out var key))
            {
                yield return stream.Current;
                if (stream.MoveNext())
                {
                    queue.Enqueue(stream, (stream.Current.Event.Timestamp.UtcTicks, key.Account));
                }
            }
        }
        finally
        {
            foreach (var stream in streams)
            {
                stream.Dispose();
            }
        }
    }

    internal static Archetype Find(string name) =>
        s_archetypes.FirstOrDefault(a => a.Name == name) ?? throw new ArgumentException($"Unknown archetype '{name}'.", nameof(name));

    private static void Validate(ScenarioOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Duration <= TimeSpan.Zero || options.Duration > TimeSpan.FromDays(366))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Duration must be between zero and a year.");
        }

        if (!(options.Scale >= 0) || options.Scale > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Scale must be between 0 and 1000.");
        }

        if (options.ResellerDistillationShare is { } share && share is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The reseller's distillation share must be between 0 and 1.");
        }

        if (options.AccountsPerArchetype is { } counts)
        {
            foreach (var (name, count) in counts)
            {
                _ = Find(name);
                if (count < 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(options), $"Account count for {name} is negative.");
                }
            }
        }
    }

    private static int Count(Archetype archetype, ScenarioOptions options)
    {
        if ((archetype.IsAttacker && !options.IncludeAttackers) || (archetype.HeldOut && !options.IncludeHeldOut))
        {
            return 0;
        }

        var baseCount = options.AccountsPerArchetype is { } counts && counts.TryGetValue(archetype.Name, out var c) ? c : archetype.DefaultAccounts;
        return baseCount == 0 ? 0 : Math.Max(1, (int)Math.Round(baseCount * options.Scale));
    }

    private static List<(Archetype Archetype, SimulatedAccount Account, int Ordinal)> CreateAccounts(ScenarioOptions options)
    {
        Validate(options);
        var factory = new AccountFactory(options);
        var all = new List<(Archetype, SimulatedAccount, int)>();
        foreach (var archetype in s_archetypes)
        {
            var count = Count(archetype, options);
            if (count == 0)
            {
                continue;
            }

            var accounts = archetype.CreateAccounts(factory, count);
            for (var i = 0; i < accounts.Count; i++)
            {
                all.Add((archetype, accounts[i], i));
            }
        }

        return all;
    }

    /// <summary>Turns an archetype's plan into usage events the way the gateway would record them.</summary>
    private static IEnumerable<LabelledEvent> Materialise(Archetype archetype, AccountRun run, int accountIndex, TokenCounter tokens)
    {
        var account = run.Account;
        var outcome = SimulationRandom.For(run.Options.Seed, "outcome:" + account.Id);
        var sequence = 0;
        var last = DateTimeOffset.MinValue;
        foreach (var plan in archetype.Plan(run))
        {
            // Plans are meant to be in time order; clamp so a sloppy archetype cannot break the merge's ordering.
            var timestamp = plan.Timestamp < last ? last : plan.Timestamp;
            last = timestamp;
            if (timestamp >= run.End)
            {
                yield break;
            }

            var promptText = string.Join('\n', plan.Messages.Select(m => m.Content));
            var promptTokens = tokens.Count(plan.Messages);
            var status = 200;
            string? errorCode = null;
            var roll = outcome.NextDouble();
            if (roll < archetype.RateLimitedShare)
            {
                status = 429;
                errorCode = "rate_limit_exceeded";
            }
            else if (roll < archetype.RateLimitedShare + archetype.BadRequestShare)
            {
                status = 400;
                errorCode = "invalid_request_error";
            }

            var completion = 0;
            string? finish = null;
            double latency;
            double? firstToken = null;
            if (status == 200)
            {
                var cap = plan.MaxTokens ?? run.Options.MaxTokensCeiling;
                var capped = false;
                for (var choice = 0; choice < plan.N; choice++)
                {
                    // Choices of one request vary around the planned length (sampling noise).
                    var length = Math.Max(1, (int)Math.Round(plan.AnswerTokens * Math.Exp(0.25 * outcome.Normal())));
                    if (length >= cap)
                    {
                        length = cap;
                        capped = true;
                    }

                    completion += length;
                }

                finish = capped ? "length" : "stop";
                firstToken = outcome.LogNormal(250 + promptTokens * 0.05, 0.4);
                latency = firstToken.Value + completion / Math.Max(1, plan.N) * outcome.Uniform(8, 20);
            }
            else
            {
                latency = outcome.LogNormal(3, 0.5);
            }

            var e = new UsageEvent
            {
                RequestId = $"chatcmpl-sim{run.Options.Seed}x{accountIndex}x{sequence++}",
                Timestamp = timestamp,
                AccountId = account.Id,
                KeyId = "key-" + account.Id,
                ClientAddress = account.ClientAddress,
                UserAgent = account.UserAgent,
                Endpoint = "chat.completions",
                Model = plan.Model ?? run.Options.Model,
                Stream = plan.Stream,
                Temperature = plan.Temperature,
                TopP = plan.TopP,
                MaxTokens = plan.MaxTokens,
                N = plan.N,
                Logprobs = plan.Logprobs,
                TopLogprobs = plan.TopLogprobs,
                Seed = plan.Seed,
                StopCount = plan.Stop?.Count ?? 0,
                PromptTokens = promptTokens,
                CompletionTokens = completion,
                LatencyMs = Math.Round(latency, 1),
                TimeToFirstTokenMs = firstToken is { } f ? Math.Round(f, 1) : null,
                Status = status,
                ErrorCode = errorCode,
                FinishReason = finish,
                PromptText = promptText,
            };
            yield return new LabelledEvent(e, account.Archetype, plan.IsAttacker ?? account.IsAttacker, account.CampaignId, account.Authorised)
            {
                Account = account,
                Messages = plan.Messages,
                Stop = plan.Stop,
                SessionId = plan.SessionId,
            };
        }
    }
}
