using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Semantics.Embeddings;
using DistillGuard.Semantics.Tests.Embeddings;

namespace DistillGuard.Semantics.Tests;

[Collection(EmbedderCollection.Name)]
public sealed class SemanticFeaturesTests(SharedEmbedder shared)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    private (DetectionEngine Engine, SemanticFeatures Features) Engine(bool queued = false)
    {
        var features = new SemanticFeatures(new EmbeddingCache(shared.Embedder), queued: queued);
        var engine = new DetectionEngine(new DetectionCalibration()) { Extension = features };
        return (engine, features);
    }

    private static void Send(DetectionEngine engine, string account, IReadOnlyList<string> prompts, int offsetMinutes = 0)
    {
        for (var i = 0; i < prompts.Count; i++)
        {
            engine.Observe(Prompts.Event(account, Start.AddMinutes(offsetMinutes + (i * 3)), prompts[i], i));
        }
    }

    [Fact]
    public void Detect_ParaphrasedTemplate_FlagsSemanticTemplateWhereSimHashMisses()
    {
        var (engine, _) = Engine();
        Send(engine, "paraphraser", Prompts.Paraphrases);
        Send(engine, "casual", Prompts.Varied);
        var now = Start.AddHours(2);
        var templated = engine.Features("paraphraser", now)!;
        var casual = engine.Features("casual", now)!;

        Assert.True(templated[DetectorKind.NearDuplicateShare] < 0.2, $"SimHash near-duplicate share {templated[DetectorKind.NearDuplicateShare]}");
        Assert.True(templated[DetectorKind.SemanticTemplate] > 0.6, $"semantic template share {templated[DetectorKind.SemanticTemplate]}");
        Assert.True(casual[DetectorKind.SemanticTemplate] < 0.1, $"casual semantic template share {casual[DetectorKind.SemanticTemplate]}");
        Assert.True(templated[DetectorKind.SemanticBreadth] < casual[DetectorKind.SemanticBreadth] - 0.3,
            $"breadth {templated[DetectorKind.SemanticBreadth]} vs {casual[DetectorKind.SemanticBreadth]}");
    }

    [Fact]
    public void Detect_ReasoningAsksInOtherWords_AreNearIntentPrototypes()
    {
        var (engine, _) = Engine();
        var asks = Enumerable.Range(0, 4).SelectMany(_ => Prompts.ReasoningAsks).Select((p, i) => $"{p} (item {i})").ToArray();
        Send(engine, "harvester", asks);
        Send(engine, "casual", Prompts.Varied);
        var now = Start.AddHours(2);

        Assert.True(engine.Features("harvester", now)![DetectorKind.IntentNearness] >= 0.4, $"harvester intent share {engine.Features("harvester", now)![DetectorKind.IntentNearness]}");
        Assert.True(engine.Features("casual", now)![DetectorKind.IntentNearness] < 0.1, $"casual intent share {engine.Features("casual", now)![DetectorKind.IntentNearness]}");
    }

    [Fact]
    public void Features_FewSamples_AreNaN()
    {
        var (engine, _) = Engine();
        Send(engine, "new", Prompts.Varied.Take(3).ToArray());
        var features = engine.Features("new", Start.AddHours(1))!;

        Assert.True(double.IsNaN(features[DetectorKind.SemanticTemplate]));
        Assert.True(double.IsNaN(features[DetectorKind.CohortMmd]));
    }

    [Fact]
    public void Observe_Queued_EmbedsOnlyWhenDrainedAndDropsBeyondCapacity()
    {
        var features = new SemanticFeatures(new EmbeddingCache(shared.Embedder), new SemanticOptions { QueueCapacity = 8 }, queued: true);
        var engine = new DetectionEngine(new DetectionCalibration()) { Extension = features };
        Send(engine, "burst", Prompts.Varied);

        Assert.Equal(0, features.Embedded);
        // 16 at the start of the hour, then the first of the remaining 4 (one in 16).
        Assert.Equal(17, features.Sampled);
        Assert.Equal(9, features.Dropped);
        Assert.Equal(8, features.Drain());
        Assert.Equal(8, features.Embedded);
    }

    [Fact]
    public void Sample_AfterFirstPerHour_TakesOneInEveryNth()
    {
        var features = new SemanticFeatures(new EmbeddingCache(shared.Embedder), new SemanticOptions { FirstPerHour = 4, EveryNth = 4 });
        var engine = new DetectionEngine(new DetectionCalibration()) { Extension = features };
        for (var i = 0; i < 20; i++)
        {
            engine.Observe(Prompts.Event("heavy", Start.AddSeconds(i), Prompts.Varied[i], i));
        }

        // 4 at the start of the hour, then the 1st, 5th, 9th and 13th of the remaining 16.
        Assert.Equal(8, features.Sampled);
    }

    [Fact]
    public void StateBytes_HeavyAccount_StaysWithinSixteenKilobytes()
    {
        var (engine, _) = Engine();
        for (var i = 0; i < 400; i++)
        {
            engine.Observe(Prompts.Event("heavy", Start.AddMinutes(i * 7), Prompts.Varied[i % 20] + " #" + i, i));
        }

        Assert.InRange(engine.StateBytes("heavy"), 1, 16 * 1024);
    }

    [Fact]
    public void Tail_LongPrompt_KeepsTheEndFromAWordBoundary()
    {
        var prompt = "You are a helpful assistant for Contoso. " + string.Concat(Enumerable.Repeat("Always be brief. ", 40)) + "Where is my parcel?";
        var tail = SemanticFeatures.Tail(prompt, 64);

        Assert.EndsWith("Where is my parcel?", tail);
        Assert.True(tail.Length <= 64);
        Assert.False(char.IsWhiteSpace(tail[0]));
    }
}
