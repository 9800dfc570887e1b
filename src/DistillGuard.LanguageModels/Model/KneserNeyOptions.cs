namespace DistillGuard.LanguageModels.Model;

/// <summary>Training settings of a Kneser–Ney model; the defaults fit a GPT-2-token teacher.</summary>
public sealed class KneserNeyOptions
{
    /// <summary>Model id stored in the file and served by the gateway.</summary>
    public string Id { get; init; } = "dg-model";

    /// <summary>Number of token ids (GPT-2: 50,257); at most 65,536 because n-grams are packed 16 bits per token.</summary>
    public int VocabularySize { get; init; } = 50_257;

    /// <summary>Token that starts and ends every sequence (GPT-2's <c>&lt;|endoftext|&gt;</c>, id 50256).</summary>
    public int BoundaryToken { get; init; } = 50_256;

    /// <summary>
    /// Fixed discounts D1, D2, D3+ for every order instead of the Chen &amp; Goodman (1998) estimates; lets a student
    /// be trained with a different discount than the teacher.
    /// </summary>
    public float[]? Discounts { get; init; }
}
