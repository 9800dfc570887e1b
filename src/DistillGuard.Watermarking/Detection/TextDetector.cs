using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Watermarking.Detection;

/// <summary>Detects a token-level watermark in text: normalise, tokenize with the generation tokenizer, score.</summary>
public sealed class TextDetector(TokenDetector detector, TextTokenizer tokenizer)
{
    /// <summary>The token detector behind this one.</summary>
    public TokenDetector Tokens => detector;

    /// <summary>Detects the watermark in <paramref name="text"/>.</summary>
    public WatermarkDetection Detect(string text, DetectorOptions? options = null)
    {
        var ids = tokenizer.Encode(TextNormalization.Normalize(text));
        return detector.Detect(ids, options, tokenizer.GetTokenText);
    }
}
