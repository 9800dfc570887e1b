namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>Localisation pipelines: one template, multilingual, high volume over working hours, answers as long as the input (L11).</summary>
internal sealed class TranslationPipeline : Archetype
{
    public override string Name => "translation-pipeline";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 10;
    public override string Description => "Translation pipelines: one template over Brown paragraphs into several languages, steady working-hours volume.";

    public double PerDay { get; init; } = 200;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var languages = Enumerable.Range(0, rng.Between(1, 5)).Select(_ => rng.Pick(ChatPrompts.Languages)).Distinct().ToArray();
        foreach (var t in ArrivalProcess.Diurnal(rng, run.Start, run.End, PerDay * rng.LogNormal(1, 0.4), run.Account.UtcOffset, ArrivalProcess.Rhythm.Working, 0.6))
        {
            var paragraph = run.Corpus.Paragraph(rng);
            var user = $"Translate the following text from English to {rng.Pick(languages)}. Preserve formatting and names.\n\n{paragraph}";
            yield return Single(t, null, user, (int)(paragraph.Length / 3.5)) with { Temperature = 0.2, MaxTokens = run.Cap(2048) };
        }
    }
}
