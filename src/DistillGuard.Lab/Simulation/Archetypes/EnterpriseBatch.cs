namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>One template × many records in nightly windows with flat, machine-regular timing, single-turn (L4).</summary>
internal sealed class EnterpriseBatch : Archetype
{
    public override string Name => "enterprise-batch";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 10;
    public override string Description => "Enterprise batch jobs: one template applied to many records in nightly windows, regular spacing, short answers.";

    private static readonly string[] s_templates =
    [
        "Classify the sentiment of this customer review as positive, negative or neutral. Respond with JSON {{\"label\": ...}}.\nReview: {0}",
        "Extract every person, organisation and place named in the text below as a JSON list.\nText: {0}",
        "Summarise the following support ticket in one line for the dashboard.\nTicket: {0}",
        "Assign one category (billing, shipping, product, account, other) to this message. Answer with the category only.\nMessage: {0}",
    ];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var template = rng.Pick(s_templates);
        var system = rng.Chance(0.5) ? "You are a precise data-processing assistant. Follow the output format exactly." : null;
        var records = rng.Between(300, 1200);
        var window = TimeSpan.FromHours(rng.Uniform(1.5, 4));
        long record = rng.Next(run.Corpus.SentenceCount);
        foreach (var t in ArrivalProcess.DailyBatches(rng, run.Start, run.End, rng.Between(0, 4), window, window / records, 0.05, weekdaysOnly: rng.Chance(0.3)))
        {
            var user = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, run.Corpus.SentenceAt(record++));
            yield return Single(t, system, user, (int)rng.LogNormal(18, 0.4)) with { Temperature = 0, MaxTokens = 64 };
        }
    }
}
