using DistillGuard.Semantics.Embeddings;

namespace DistillGuard.Semantics.Tests.Embeddings;

/// <summary>One model load (≈ 1 s, 90 MB) shared by every test class that embeds.</summary>
public sealed class SharedEmbedder : IDisposable
{
    public MiniLmEmbedder Embedder { get; } = new();

    public void Dispose() => Embedder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class EmbedderCollection : ICollectionFixture<SharedEmbedder>
{
    public const string Name = "embedder";
}
