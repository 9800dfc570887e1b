using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Policy;

namespace DistillGuard.Gateway.Tests.Policy;

public sealed class ReasoningStripperTests
{
    [Theory]
    [InlineData(new[] { "Hello <think>secret plan</think>world" }, "Hello world")]
    [InlineData(new[] { "A<thi", "nk>hidden</th", "ink>B" }, "AB")]
    [InlineData(new[] { "<think>", "all of it", "</think>", "answer" }, "answer")]
    [InlineData(new[] { "a < b and c <t", "ag>" }, "a < b and c <tag>")]
    public void ThinkBlockFilter_RemovesBlocksSplitAcrossPieces(string[] pieces, string expected)
    {
        var filter = new ThinkBlockFilter();
        var visible = new StringBuilder();
        foreach (var piece in pieces)
        {
            visible.Append(filter.Filter(piece));
        }

        visible.Append(filter.Flush());
        Assert.Equal(expected, visible.ToString());
    }

    [Fact]
    public void StripChunk_RemovesReasoningFields_AndDropsChunksLeftEmpty()
    {
        var stripper = new ReasoningStripper();
        Assert.Null(stripper.StripChunk("""{"choices":[{"index":0,"delta":{"reasoning_content":"let me think"},"finish_reason":null}]}"""));
        Assert.Null(stripper.StripChunk("""{"choices":[{"index":0,"delta":{"content":"<think>step 1"},"finish_reason":null}]}"""));
        var kept = stripper.StripChunk("""{"choices":[{"index":0,"delta":{"content":" step 2</think>The answer"},"finish_reason":null}]}""");
        Assert.Equal("The answer", JsonDocument.Parse(kept!).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        Assert.NotNull(stripper.StripChunk("""{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"""));
    }

    [Fact]
    public void StripCompletion_RemovesReasoningFromWholeAnswers()
    {
        var payload = Encoding.UTF8.GetBytes("""{"choices":[{"index":0,"message":{"role":"assistant","content":"<think>chain</think>42","reasoning_content":"chain"},"finish_reason":"stop"}]}""");
        using var stripped = JsonDocument.Parse(ReasoningStripper.StripCompletion(payload));
        var message = stripped.RootElement.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("42", message.GetProperty("content").GetString());
        Assert.False(message.TryGetProperty("reasoning_content", out _));
    }

    [Fact]
    public void StripChunk_WithASeal_HoldsTheReasoningAndSealsItAheadOfTheAnswer()
    {
        var sealedTexts = new List<string>();
        var stripper = new ReasoningStripper(text =>
        {
            sealedTexts.Add(text);
            return "BLOB";
        });
        Assert.Null(stripper.StripChunk("""{"choices":[{"index":0,"delta":{"reasoning_content":"first, "},"finish_reason":null}]}"""));
        Assert.Null(stripper.StripChunk("""{"choices":[{"index":0,"delta":{"content":"<think>then"},"finish_reason":null}]}"""));
        var kept = JsonDocument.Parse(stripper.StripChunk("""{"choices":[{"index":0,"delta":{"content":" done</think>42"},"finish_reason":null}]}""")!);
        var delta = kept.RootElement.GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal(("42", "BLOB"), (delta.GetProperty("content").GetString(), delta.GetProperty("reasoning_encrypted").GetString()));
        Assert.Equal(["first, then done"], sealedTexts);

        var whole = ReasoningStripper.StripCompletion(Encoding.UTF8.GetBytes("""{"choices":[{"index":0,"message":{"role":"assistant","content":"<think>b</think>42","reasoning":"a","reasoning_content":"a"},"finish_reason":"stop"}]}"""), text => "sealed:" + text);
        var message = JsonDocument.Parse(whole).RootElement.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal(("42", "sealed:ab"), (message.GetProperty("content").GetString(), message.GetProperty("reasoning_encrypted").GetString()));
        Assert.False(message.TryGetProperty("reasoning", out _));
    }
}
