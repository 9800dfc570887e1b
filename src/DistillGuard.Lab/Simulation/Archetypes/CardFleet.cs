namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>
/// Held out: a fleet of fresh accounts that share one payment card, one /24 and one client, sending one plain-words
/// reasoning template in a single burst of a few hours — finished before an hourly linking pass would group it.
/// </summary>
internal sealed class CardFleet : Archetype
{
    public override string Name => "card-fleet";
    public override bool IsAttacker => true;
    public override bool HeldOut => true;
    public override int DefaultAccounts => 60;
    public override string Description => "Held out: fleets of 60 fresh free-tier accounts on one card, one /24 and one client, one plain-words template, 15-40 requests each in one 4-hour burst.";

    public int FleetSize { get; init; } = 60;

    /// <summary>How long the fleet's burst lasts.</summary>
    public TimeSpan Burst { get; init; } = TimeSpan.FromHours(4);

    public override IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count)
    {
        var accounts = new SimulatedAccount[count];
        var block = "";
        var card = "";
        var userAgent = "";
        var signUp = factory.Start;
        for (var i = 0; i < count; i++)
        {
            if (i % FleetSize == 0)
            {
                block = factory.AddressBlock();
                card = factory.PaymentBucket();
                userAgent = factory.UserAgent();
                signUp = factory.CreatedBefore(TimeSpan.FromDays(factory.Random.Uniform(1, 3)));
            }

            accounts[i] = factory.Independent(this, i, tier: AccessTiers.Free) with
            {
                ClientAddress = factory.AddressIn(block),
                PaymentFingerprint = card,
                UserAgent = userAgent,
                CampaignId = $"card-fleet-{i / FleetSize + 1}",
                CreatedAt = signUp + TimeSpan.FromHours(factory.Random.Uniform(0, 24)),
                Verified = false,
            };
        }

        return accounts;
    }

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var fleet = SimulationRandom.For(run.Options.Seed, run.Account.CampaignId ?? run.Account.Id);
        var system = run.Phrasing.PlainPersona(fleet);
        var template = run.Phrasing.PlainReasoning(fleet);
        var start = run.Start + TimeSpan.FromHours(fleet.Uniform(1, Math.Max(1, Math.Min(24, (run.End - run.Start).TotalHours / 2))));
        var requests = rng.Between(15, 40);
        foreach (var t in ArrivalProcess.Flat(rng, start, start + Burst, requests / Burst.TotalHours))
        {
            yield return Harvest(run, t, system, template);
        }
    }
}
