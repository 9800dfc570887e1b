namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>Classes of students behind one university NAT sharing one assignment prompt and one deadline (L2).</summary>
internal sealed class StudentCohort : Archetype
{
    public override string Name => "student-cohort";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 120;
    public override string Description => "Students: classes of ~40 behind one university NAT, one shared assignment prompt, activity piling up before the deadline.";

    public int ClassSize { get; init; } = 40;

    /// <summary>The simulator's assignment prompts: {0} course, {1} number, {{0}}/{{1}} concepts.</summary>
    internal static readonly string[] Assignments =
    [
        "For my {0} assignment: explain {{0}} step by step and give one example. Max 300 words.",
        "{0} homework question {1}: What is {{0}}? Show your reasoning.",
        "I need help with my {0} essay. Explain how {{0}} relates to {{1}} in simple terms.",
    ];

    public override IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count)
    {
        var accounts = new SimulatedAccount[count];
        string? nat = null;
        var university = "";
        var offset = TimeSpan.Zero;
        for (var i = 0; i < count; i++)
        {
            if (i % ClassSize == 0)
            {
                nat = factory.AddressIn(factory.AddressBlock());
                university = $"univ-{i / ClassSize:D3}";
                offset = factory.LocalOffset();
            }

            accounts[i] = factory.Independent(this, i, tier: AccessTiers.Education, org: university) with
            {
                ClientAddress = nat!,
                UtcOffset = offset,
                UserAgent = "Mozilla/5.0 (course portal) OpenAI/NodeJS 4.67.1",
                CreatedAt = factory.CreatedBefore(TimeSpan.FromDays(factory.Random.Uniform(1, 60))),
            };
        }

        return accounts;
    }

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var corpus = run.Corpus;
        var classIndex = run.Ordinal / ClassSize;
        // Everything shared by the class comes from the class's own stream: same template, topic and deadline for all.
        var classRng = SimulationRandom.For(run.Options.Seed, "student-class", classIndex);
        var course = $"{corpus.TopicName(corpus.LexfileOf(corpus.Concept(classRng)))} {classRng.Between(101, 399)}";
        var template = string.Format(System.Globalization.CultureInfo.InvariantCulture, run.Phrasing.Assignment(classRng), course, classRng.Between(1, 12));
        var category = classRng.Pick(corpus.Categories);
        var deadline = run.Start.AddDays(classRng.Between(2, Math.Max(2, (int)run.Days - 1))).AddHours(23.99) - run.Account.UtcOffset;
        var requests = rng.Between(5, 30);
        var concepts = corpus.ChildrenOf(category);
        var times = Enumerable.Range(0, requests)
            // Most work happens in the last day or two before the deadline (hours before it: exponential, mean 20 h).
            .Select(_ => deadline - TimeSpan.FromHours(Math.Min(rng.Exponential(20), 24 * 6)))
            .Where(t => t >= run.Start && t < run.End)
            .Order()
            .ToArray();
        foreach (var t in times)
        {
            var user = string.Format(System.Globalization.CultureInfo.InvariantCulture, template,
                corpus.Lemma(rng.Pick(concepts)), corpus.Lemma(rng.Pick(concepts)));
            foreach (var r in Conversation(run, t, null, rng.Chance(0.3) ? 2 : 1,
                turn => turn == 0 ? user : ChatPrompts.FollowUp(corpus, rng),
                _ => (int)rng.LogNormal(350, 0.5),
                r => r with { Stream = true }))
            {
                yield return r;
            }
        }
    }
}
