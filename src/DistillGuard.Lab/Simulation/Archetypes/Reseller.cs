namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A4: proxy resellers carrying real customer traffic with a distillation share mixed in (Anthropic's "mixing").</summary>
internal sealed class Reseller : Archetype
{
    public override string Name => "reseller";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 12;
    public override string Description => "Proxy resellers: real customers' traffic with 5/10/25/50 % distillation mixed in; per-request labels say which is which.";

    /// <summary>Distillation shares assigned round-robin when the scenario does not fix one (MMD evaluation fractions).</summary>
    public static readonly double[] Shares = [0.05, 0.10, 0.25, 0.50];

    /// <summary>Accounts per proxy operator (they share an address block and a payment bucket).</summary>
    public int AccountsPerOperator { get; init; } = 6;

    public double PerHour { get; init; } = 30;

    public override IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count)
    {
        var accounts = new SimulatedAccount[count];
        var block = "";
        var payment = "";
        for (var i = 0; i < count; i++)
        {
            if (i % AccountsPerOperator == 0)
            {
                block = factory.AddressBlock();
                payment = factory.PaymentBucket();
            }

            accounts[i] = factory.Independent(this, i, tier: AccessTiers.Enterprise) with
            {
                ClientAddress = factory.AddressIn(block),
                PaymentFingerprint = payment,
                CampaignId = $"reseller-{i / AccountsPerOperator + 1}",
                UserAgent = "litellm/1.52.0 OpenAI/Python 1.54.4",
                DistillationShare = Shares[i % Shares.Length],
            };
        }

        return accounts;
    }

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var corpus = run.Corpus;
        var share = run.Options.ResellerDistillationShare ?? run.Account.DistillationShare ?? 0.1;
        // The operator's distillation client uses one persona and template for all its accounts.
        var operatorRng = SimulationRandom.For(run.Options.Seed, run.Account.CampaignId ?? run.Account.Id);
        var system = run.Phrasing.Persona(operatorRng);
        var template = run.Phrasing.Elicitation(operatorRng);
        // End customers are people and apps everywhere: a flattened daily rhythm.
        foreach (var t in ArrivalProcess.Diurnal(rng, run.Start, run.End, PerHour * 24, TimeSpan.Zero, ArrivalProcess.Rhythm.Leisure, 0.8))
        {
            if (rng.Chance(share))
            {
                yield return Harvest(run, t, system, template) with { IsAttacker = true };
                continue;
            }

            yield return Customer(corpus, rng, t) with { IsAttacker = false };
        }
    }

    /// <summary>One request of a reseller's real customers: chat, code or translation.</summary>
    internal static PlannedRequest Customer(PromptCorpus corpus, SimulationRandom rng, DateTimeOffset t) => rng.Next(3) switch
    {
        0 => Single(t, null, ChatPrompts.Opening(corpus, rng), (int)rng.LogNormal(220, 0.7)) with { Stream = true },
        1 => Single(t, rng.Chance(0.5) ? "You are a helpful coding assistant." : null, CodePrompts.Question(corpus, rng, rng.Pick(CodePrompts.Languages)), (int)rng.LogNormal(450, 0.6)) with { Temperature = 0.2 },
        _ => Single(t, null, $"Translate into {rng.Pick(ChatPrompts.Languages)}: {corpus.Sentence(rng)}", (int)rng.LogNormal(60, 0.4)),
    };
}
