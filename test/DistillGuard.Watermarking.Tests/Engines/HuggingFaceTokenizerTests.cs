using System.Text;
using DistillGuard.Watermarking.Engines;

namespace DistillGuard.Watermarking.Tests.Engines;

public sealed class HuggingFaceTokenizerTests
{
    internal static string Qwen3Path => Path.Combine(AppContext.BaseDirectory, "Engines", "qwen3-tokenizer.json.gz");

    private static readonly Lazy<HuggingFaceTokenizer> Qwen3 = new(() => HuggingFaceTokenizer.Load(Qwen3Path));

    // Expected ids: the package's own transformers.js tokenizer (see Engines/PROVENANCE.md).
    [Theory]
    [InlineData("Hello, my dog is cute", new[] { 9707, 11, 847, 5562, 374, 18838 })]
    [InlineData("The quick brown fox jumps over the lazy dog.\n\n  Numbers: 12345, café, naïve — “quotes” 日本語 😀",
        new[] { 785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 382, 220, 34713, 25, 220, 16, 17, 18, 19, 20, 11, 51950, 11, 94880, 586, 1959, 1036, 53282, 854, 75402, 21894, 102819, 90316 })]
    [InlineData("def f(x):\n    return x**2  # comment\n", new[] { 750, 282, 2075, 982, 262, 470, 856, 334, 17, 220, 671, 3980, 198 })]
    public void Qwen3_EncodesAsTheReferenceTokenizer(string text, int[] expected)
    {
        Assert.Equal(expected, Qwen3.Value.Encode(text));
        Assert.Equal(text, Qwen3.Value.Decode(expected));
    }

    [Fact]
    public void Qwen3_VocabularyIncludesAddedTokens()
    {
        Assert.Equal(151_669, Qwen3.Value.VocabularySize);
        Assert.Equal([151_643], Qwen3.Value.Encode("<|endoftext|>"));
    }

    [Theory]
    [InlineData("""{"model":{"type":"Unigram","vocab":[]}}""", "model.type is 'Unigram'")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Metaspace"}}""", "'Metaspace' in this position is not supported")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{"type":"NFKC"},"pre_tokenizer":{"type":"ByteLevel"}}""", "normalizer 'NFKC' is not supported")]
    [InlineData("""{"model":{"type":"BPE","merges":[]}}""", "'vocab' is missing")]
    [InlineData("""not json""", "not valid JSON")]
    public void Load_UnsupportedOrBrokenFile_SaysWhy(string json, string reason)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(stream));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
