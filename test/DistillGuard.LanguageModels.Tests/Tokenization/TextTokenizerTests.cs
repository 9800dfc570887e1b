using System.Text;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.LanguageModels.Tests.Tokenization;

public sealed class TextTokenizerTests
{
    private static TextTokenizer Tokenizer => TextTokenizer.Gpt2;

    [Fact]
    public void VocabularySize_IsGpt2()
    {
        Assert.Equal(50_257, Tokenizer.VocabularySize);
        Assert.Equal("<|endoftext|>", Tokenizer.GetTokenText(TextTokenizer.EndOfText));
        Assert.Equal([15496, 995], Tokenizer.Encode("Hello world"));
    }

    [Theory]
    [InlineData("Plain ASCII text.")]
    [InlineData("naïve café — «quotes» and emoji 🎉🧪 and 你好，世界")]
    [InlineData("👩‍👩‍👧 family, Ω≈ç√∫")]
    public void IncrementalDecoder_MultiByteText_RoundTripsWithoutBrokenCharacters(string text)
    {
        var ids = Tokenizer.Encode(text);
        var decoder = Tokenizer.CreateIncrementalDecoder();
        var output = new StringBuilder();
        foreach (var id in ids)
        {
            var delta = decoder.Append(id);
            Assert.DoesNotContain('\uFFFD', delta);
            output.Append(delta);
        }

        output.Append(decoder.Flush());
        Assert.Equal(text, output.ToString());
        Assert.Equal(text, Tokenizer.Decode(ids));
    }

    [Fact]
    public void IncrementalDecoder_CharacterSplitAcrossTokens_IsHeldUntilComplete()
    {
        var ids = Tokenizer.Encode("🎉");
        Assert.True(ids.Length > 1, "the emoji should span several byte-level tokens");
        var decoder = Tokenizer.CreateIncrementalDecoder();
        for (var i = 0; i < ids.Length - 1; i++)
        {
            Assert.Equal(string.Empty, decoder.Append(ids[i]));
        }

        Assert.Equal("🎉", decoder.Append(ids[^1]));
    }

    [Fact]
    public void IncrementalDecoder_TruncatedCharacter_FlushesAsReplacementCharacter()
    {
        var ids = Tokenizer.Encode("🎉");
        var decoder = Tokenizer.CreateIncrementalDecoder();
        Assert.Equal(string.Empty, decoder.Append(ids[0]));
        Assert.Equal("\uFFFD", decoder.Flush());
    }
}
