using System.Text.RegularExpressions;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Lab.Simulation;

/// <summary>Exact GPT-2 token counts of prompts, fast: counts are cached per pre-token (word-sized piece).</summary>
/// <remarks>
/// GPT-2's byte-level BPE never merges across the pieces its pre-tokenizer regex cuts the text into, so a text's token
/// count is the sum of its pieces' counts; pieces repeat endlessly across prompts, so the tokenizer runs once per piece.
/// Not thread-safe: one instance per generation.
/// </remarks>
internal sealed partial class TokenCounter
{
    private readonly Dictionary<string, int> _pieces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    // Conversation turns resend the same message instances: remember whole messages by reference too.
    private readonly Dictionary<string, int> _messages = new(ReferenceEqualityComparer.Instance);

    public TokenCounter() => _lookup = _pieces.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Tokens of the messages' contents joined by '\n' (the gateway's prompt text).</summary>
    public int Count(IReadOnlyList<ChatTurn> messages)
    {
        var total = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            var content = messages[i].Content;
            if (!_messages.TryGetValue(content, out var n))
            {
                if (_messages.Count > 50_000)
                {
                    _messages.Clear();
                }

                _messages[content] = n = Count(content);
            }

            total += n;
        }

        // Each separating '\n' is a piece of its own.
        return Math.Max(1, total + messages.Count - 1);
    }

    /// <summary>Tokens of one text.</summary>
    public int Count(string text)
    {
        var total = 0;
        foreach (var match in Gpt2Pieces().EnumerateMatches(text))
        {
            var piece = text.AsSpan(match.Index, match.Length);
            if (!_lookup.TryGetValue(piece, out var n))
            {
                var s = piece.ToString();
                n = TextTokenizer.Gpt2.CountTokens(s);
                _pieces[s] = n;
            }

            total += n;
        }

        return total;
    }

    // GPT-2's pre-tokenizer pattern (openai/gpt-2 encoder.py).
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Pieces();
}
