namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A customer licensed to generate synthetic training data: distillation-shaped traffic that is authorised (L7).</summary>
internal sealed class LicensedSyntheticData : Archetype
{
    public override string Name => "licensed-synthetic-data";
    public override bool IsAttacker => false;
    public override bool Authorised => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Licensed synthetic-data customers: templated task generation with worked solutions, 24x7, authorised by contract.";

    public double PerHour { get; init; } = 30;

    public override IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count) =>
        [.. base.CreateAccounts(factory, count).Select(a => a with { Tier = AccessTiers.Enterprise, Verified = true })];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = "You generate high-quality training data for " + run.Account.Org + ". Follow the requested JSON schema.";
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            var template = rng.Pick(AttackPrompts.TaskGenerationTemplates);
            yield return Single(t, system, AttackPrompts.Fill(template, run.Corpus, run.Corpus.Concept(rng), rng), (int)rng.LogNormal(1200, 0.4)) with
            {
                Temperature = 1.0,
                N = rng.Between(1, 3),
                MaxTokens = run.Cap(2048),
            };
        }
    }
}
