namespace DistillGuard.Gateway.Semantics;

/// <summary>The sentence-embedding detectors in the gateway (the <c>semantics</c> section of the configuration file).</summary>
public sealed class GatewaySemanticOptions
{
    /// <summary>Embed sampled prompts off the request path and score the semantic detectors. The model (90 MB) loads in the background after start.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>WordPiece tokens embedded per prompt (the end of the prompt, see <see cref="DistillGuard.Semantics.SemanticOptions.TailCharacters"/>).</summary>
    public int MaxTokens { get; set; } = DistillGuard.Semantics.Embeddings.MiniLmEmbedder.DefaultMaxTokens;

    /// <summary>Prompts embedded per account per clock hour before sampling thins to one in <see cref="EveryNth"/>.</summary>
    public int FirstPerHour { get; set; } = 16;

    /// <summary>After the first ones of the hour, one prompt in this many is embedded.</summary>
    public int EveryNth { get; set; } = 16;

    /// <summary>Sampled prompts waiting for the embedding worker; beyond it they are dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 4096;
}
