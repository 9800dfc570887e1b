namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>Held out: a single reseller account whose customers' ordinary traffic carries 20 % distillation in plain words.</summary>
internal sealed class BlendedReseller : Archetype
{
    public override string Name => "blended-reseller";
    public override bool IsAttacker => true;
    public override bool HeldOut => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Held out: one reseller account, its customers' chat, code and translation traffic with 20 % plain-words reasoning harvest mixed in.";

    /// <summary>Share of the account's requests that are distillation.</summary>
    public double Share { get; init; } = 0.2;

    public double PerHour { get; init; } = 30;

    public override IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count)
    {
        var accounts = new SimulatedAccount[count];
        for (var i = 0; i < count; i++)
        {
            accounts[i] = factory.Independent(this, i, tier: AccessTiers.Enterprise, userAgent: "litellm/1.52.0 OpenAI/Python 1.54.4") with { DistillationShare = Share };
        }

        return accounts;
    }

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = run.Phrasing.PlainPersona(rng);
        var template = run.Phrasing.PlainReasoning(rng);
        foreach (var t in ArrivalProcess.Diurnal(rng, run.Start, run.End, PerHour * 24, TimeSpan.Zero, ArrivalProcess.Rhythm.Leisure, 0.8))
        {
            yield return rng.Chance(Share)
                ? Harvest(run, t, system, template) with { IsAttacker = true }
                : Reseller.Customer(run.Corpus, rng, t) with { IsAttacker = false };
        }
    }
}
