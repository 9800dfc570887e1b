using DistillGuard.LanguageModels.Corpus;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Lexical;

namespace DistillGuard.Watermarking.Tests.Lexical;

public sealed class LexicalWatermarkTests
{
    private static readonly WatermarkKey Key = new WatermarkKey(new byte[32]).DeriveEpoch(0);

    private static string Human(int paragraphs, int skip = 0) => string.Join(' ', CorpusSplits.HeldOutBrown().Skip(skip).Take(paragraphs));

    [Fact]
    public void Marked_IsDetected_OriginalIsNot()
    {
        var lexical = new LexicalWatermark([Key]);
        var text = Human(12);

        var marked = lexical.Mark(text);

        Assert.True(lexical.Detect(marked).Watermarked, lexical.Detect(marked).ToString());
        Assert.False(lexical.Detect(text).Watermarked);
        Assert.False(new LexicalWatermark([Key.DeriveEpoch(5)]).Detect(marked).Watermarked);
    }

    [Fact]
    public void Streaming_InArbitraryPieces_EqualsWholeText()
    {
        var lexical = new LexicalWatermark([Key]);
        var text = Human(3, skip: 20);
        var random = new Random(7);
        var stream = lexical.CreateStream();
        var output = new System.Text.StringBuilder();
        for (var i = 0; i < text.Length;)
        {
            var length = Math.Min(random.Next(1, 12), text.Length - i);
            output.Append(stream.Append(text.Substring(i, length)));
            i += length;
        }

        output.Append(stream.Flush());
        Assert.Equal(lexical.Mark(text), output.ToString());
    }

    [Fact]
    public void Groups_PartitionTheVocabulary()
    {
        var table = SynonymTable.Shared;
        Assert.True(table.GroupedWords > 1000);
        Assert.True(table.TryGetGroup("begin", out var group));
        foreach (var member in group)
        {
            Assert.True(table.TryGetGroup(member, out var other));
            Assert.Equal(group, other);
        }
    }
}
