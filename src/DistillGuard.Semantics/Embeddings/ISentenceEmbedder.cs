namespace DistillGuard.Semantics.Embeddings;

/// <summary>Turns texts into unit-length vectors whose dot product is their similarity of meaning.</summary>
/// <remarks>An extension point so that tests and offline tools can supply vectors without loading the model.</remarks>
public interface ISentenceEmbedder
{
    /// <summary>Length of every vector.</summary>
    int Dimensions { get; }

    /// <summary>Writes the unit-length embedding of each text into the matching destination, in one batch.</summary>
    void Embed(IReadOnlyList<string> texts, IReadOnlyList<float[]> destinations);
}
