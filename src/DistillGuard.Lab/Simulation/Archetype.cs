namespace DistillGuard.Lab.Simulation;

/// <summary>One kind of API user: how many accounts, what they share, and what each of them sends when.</summary>
internal abstract class Archetype
{
    public abstract string Name { get; }
    public abstract bool IsAttacker { get; }
    public virtual bool Authorised => false;

    /// <summary>
    /// A family kept out of development and calibration: it appears only when a scenario asks for held-out families
    /// (<see cref="ScenarioOptions.IncludeHeldOut"/>), and the evaluation reports it apart.
    /// </summary>
    public virtual bool HeldOut => false;
    /// <summary>Accounts in the default scenario at scale 1.</summary>
    public abstract int DefaultAccounts { get; }
    /// <summary>One line for the documentation and the CLI.</summary>
    public abstract string Description { get; }

    /// <summary>Share of requests the gateway answers 429 (rate limited): heavy, bursty users hit limits.</summary>
    public virtual double RateLimitedShare => 0.002;

    /// <summary>Share of requests rejected 400 (client bugs: bad parameters, context too long).</summary>
    public virtual double BadRequestShare => 0.001;

    /// <summary>Creates the accounts; override to share attributes (NAT, payment, campaign) between them.</summary>
    public virtual IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count)
    {
        var accounts = new SimulatedAccount[count];
        for (var i = 0; i < count; i++)
        {
            accounts[i] = factory.Independent(this, i);
        }

        return accounts;
    }

    /// <summary>The account's requests in time order.</summary>
    public abstract IEnumerable<PlannedRequest> Plan(AccountRun run);

    /// <summary>A single-turn request with an optional system prompt.</summary>
    protected static PlannedRequest Single(DateTimeOffset t, string? system, string user, int answerTokens) => new()
    {
        Timestamp = t,
        Messages = system is null ? [new ChatTurn("user", user)] : [new ChatTurn("system", system), new ChatTurn("user", user)],
        AnswerTokens = Math.Max(1, answerTokens),
    };

    /// <summary>One templated harvesting request: persona, elicitation template over a random concept, long answer at the ceiling.</summary>
    protected static PlannedRequest Harvest(AccountRun run, DateTimeOffset t, string system, string template) =>
        Single(t, system, AttackPrompts.Fill(template, run.Corpus, run.Corpus.Concept(run.Random), run.Random), (int)run.Random.LogNormal(1400, 0.4)) with
        {
            MaxTokens = run.Cap(4096),
            Temperature = 0.7,
        };

    /// <summary>A multi-turn conversation: each turn resends the history, then the answer joins it; think time between turns.</summary>
    protected static IEnumerable<PlannedRequest> Conversation(AccountRun run, DateTimeOffset start, string? system, int turns,
        Func<int, string> user, Func<int, int> answerTokens, Func<PlannedRequest, PlannedRequest> shape, double thinkSeconds = 40)
    {
        var session = run.NewSession();
        var history = new List<ChatTurn>();
        if (system is not null)
        {
            history.Add(new ChatTurn("system", system));
        }

        var t = start;
        for (var turn = 0; turn < turns; turn++)
        {
            history.Add(new ChatTurn("user", user(turn)));
            var answer = Math.Max(1, answerTokens(turn));
            yield return shape(new PlannedRequest { Timestamp = t, Messages = [.. history], AnswerTokens = answer, SessionId = session });
            history.Add(new ChatTurn("assistant", ChatPrompts.AnswerStandIn(run.Corpus, run.Random, answer)));
            t += ArrivalProcess.ThinkTime(run.Random, thinkSeconds);
        }
    }
}

/// <summary>Everything one account's plan draws on: its attributes, its own random stream, the window and the text sources.</summary>
internal sealed class AccountRun(SimulatedAccount account, SimulationRandom random, ScenarioOptions options, PromptCorpus corpus, int ordinal)
{
    public SimulatedAccount Account { get; } = account;
    public SimulationRandom Random { get; } = random;
    public ScenarioOptions Options { get; } = options;
    public PromptCorpus Corpus { get; } = corpus;
    /// <summary>The account's position within its archetype (0-based), for per-account variation.</summary>
    public int Ordinal { get; } = ordinal;
    public DateTimeOffset Start => Options.Start;
    public DateTimeOffset End => Options.Start + Options.Duration;
    /// <summary>Scenario length in days, for converting weekly to daily volumes.</summary>
    public double Days => Options.Duration.TotalDays;
    /// <summary>A ceiling-respecting max_tokens value.</summary>
    public int Cap(int maxTokens) => Math.Min(maxTokens, Options.MaxTokensCeiling);
    /// <summary>Where the account's templated prompts come from (the scenario's phrasing source).</summary>
    public Phrasings Phrasing { get; } = Phrasings.For(options.Phrasings);
    private int _session;
    /// <summary>A new session id, unique within the account.</summary>
    public string NewSession() => $"{Account.Id}-s{_session++}";
}
