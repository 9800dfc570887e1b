namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A3: hydra fleets — many low-volume accounts per campaign sharing a template skeleton, payment buckets and a proxy block.</summary>
internal sealed class HydraFleet : Archetype
{
    public override string Name => "hydra-fleet";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 200;
    public override string Description => "Hydra fleets: campaigns of ~100 fresh accounts, each 5-20 requests a day, sharing template, payment buckets, proxy block and client.";

    public int FleetSize { get; init; } = 100;

    public override IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count)
    {
        var accounts = new SimulatedAccount[count];
        var block = "";
        string[] payments = [];
        var userAgent = "";
        var signUp = factory.Start;
        for (var i = 0; i < count; i++)
        {
            if (i % FleetSize == 0)
            {
                block = factory.AddressBlock();
                payments = [factory.PaymentBucket(), factory.PaymentBucket(), factory.PaymentBucket()];
                userAgent = factory.UserAgent();
                signUp = factory.CreatedBefore(TimeSpan.FromDays(factory.Random.Uniform(2, 20)));
            }

            accounts[i] = factory.Independent(this, i, tier: AccessTiers.Free) with
            {
                ClientAddress = factory.AddressIn(block),
                PaymentFingerprint = factory.Random.Pick(payments),
                UserAgent = userAgent,
                CampaignId = $"hydra-{i / FleetSize + 1}",
                // Registered in a burst: sign-ups within two days of each other.
                CreatedAt = signUp + TimeSpan.FromHours(factory.Random.Uniform(0, 48)),
                Verified = false,
            };
        }

        return accounts;
    }

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var campaign = SimulationRandom.For(run.Options.Seed, run.Account.CampaignId ?? run.Account.Id);
        var system = run.Phrasing.Persona(campaign);
        var template = run.Phrasing.Elicitation(campaign);
        var perDay = rng.Uniform(5, 20);
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, perDay / 24))
        {
            yield return Harvest(run, t, system, template);
        }
    }
}
