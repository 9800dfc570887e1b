using System.Text;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Watermarking.Lexical;

/// <summary>
/// A post-hoc lexical watermark for text whose logits we cannot touch: within a WordNet synonym group, the word is
/// replaced by a keyed "green" member chosen from the previous word (a CATER-style conditional rule, He et al.,
/// NeurIPS 2022, without CATER's optimisation of the rule set).
/// </summary>
/// <remarks>
/// Under H0 each distinct (previous word, word) pair in a group is green with probability γ = 0.5, independently, so
/// detection is the same exact binomial test as the green list. Thread-safe and stateless; streaming goes through
/// <see cref="CreateStream"/>.
/// </remarks>
public sealed class LexicalWatermark
{
    /// <summary>Green fraction of group members; 0.5 gives most groups (2–3 members) at least one green choice.</summary>
    public const double Gamma = 0.5;

    private const byte Tag = (byte)'L';
    private static readonly ulong Threshold = (ulong)(Gamma * 18446744073709551616.0);
    private readonly IReadOnlyList<WatermarkKey> _keys;
    private readonly SynonymTable _table;

    /// <summary>Creates the marker and detector; the first key marks, all keys are tried when detecting.</summary>
    public LexicalWatermark(IReadOnlyList<WatermarkKey> keys, SynonymTable? table = null)
    {
        if (keys.Count == 0)
        {
            throw new ArgumentException("At least one key is needed.", nameof(keys));
        }

        _keys = keys;
        _table = table ?? SynonymTable.Shared;
    }

    /// <summary>Marks a whole text.</summary>
    public string Mark(string text)
    {
        var stream = CreateStream();
        return stream.Append(text) + stream.Flush();
    }

    /// <summary>A marker for text that arrives in pieces: it holds back only a word that may still be growing.</summary>
    public LexicalStream CreateStream() => new(this);

    /// <summary>The word to write for <paramref name="word"/> after <paramref name="previous"/> (lower-case), case preserved.</summary>
    internal string Choose(string previous, string word)
    {
        var lower = word.ToLowerInvariant();
        if (!_table.TryGetGroup(lower, out var group))
        {
            return word;
        }

        var seed = ContextSeed(_keys[0], previous);
        string? best = null;
        var bestValue = ulong.MaxValue;
        foreach (var member in group)
        {
            var value = MemberValue(seed, member);
            if (value < Threshold && value < bestValue)
            {
                best = member;
                bestValue = value;
            }
        }

        if (best is null || IsGreen(seed, lower))
        {
            return word;
        }

        return MatchCase(word, best);
    }

    /// <summary>Detects the lexical watermark in <paramref name="text"/>.</summary>
    public WatermarkDetection Detect(string text, DetectorOptions? options = null)
    {
        options ??= new DetectorOptions();
        var words = Words(TextNormalization.Normalize(text));
        var keys = _keys.Count;
        var greens = new long[keys];
        var seen = new HashSet<(string, string)>();
        int scored = 0, repeated = 0;
        ulong fold = 0x243F6A8885A308D3UL;
        var previous = "";
        var colours = options.Colour ? new List<TokenColour>() : null;
        for (var i = 0; i < words.Count; i++)
        {
            var lower = words[i].ToLowerInvariant();
            var context = previous;
            previous = lower;
            if (!_table.TryGetGroup(lower, out _))
            {
                continue;
            }

            if (!seen.Add((context, lower)))
            {
                repeated++;
                colours?.Add(new TokenColour(i, words[i], "repeated", 0));
                continue;
            }

            scored++;
            fold = WatermarkKey.Mix(fold ^ (ulong)Fnv1a(lower) ^ ((ulong)Fnv1a(context) << 1));
            var first = false;
            for (var k = 0; k < keys; k++)
            {
                var green = IsGreen(ContextSeed(_keys[k], context), lower);
                greens[k] += green ? 1 : 0;
                first = k == 0 ? green : first;
            }

            colours?.Add(new TokenColour(i, words[i], first ? "green" : "red", first ? 1 : 0));
        }

        var tie = WatermarkKey.ToUnit(WatermarkKey.Mix(fold ^ _keys[0].Hash((byte)'T', [])));
        var best = 0;
        for (var k = 1; k < keys; k++)
        {
            best = greens[k] > greens[best] ? k : best;
        }

        var logP = scored == 0 ? 0 : LogProbability.Sidak(BinomialTail.LogRandomizedUpper(scored, greens[best], Gamma, tie), keys);
        var conservative = scored == 0 ? 0 : LogProbability.Sidak(BinomialTail.LogUpper(scored, greens[best], Gamma), keys);
        var enough = scored >= options.MinScoredTokens;
        var watermarked = enough && Math.Exp(logP) < options.Threshold;
        return new WatermarkDetection
        {
            Scheme = "lexical",
            PValue = Math.Exp(logP),
            Log10PValue = LogProbability.ToLog10(logP),
            ConservativePValue = Math.Exp(conservative),
            ZScore = BinomialTail.ZScore(scored, greens[best], Gamma),
            TotalTokens = words.Count,
            ScoredTokens = scored,
            RepeatedTokens = repeated,
            GreenFraction = scored == 0 ? 0 : greens[best] / (double)scored,
            Watermarked = watermarked,
            Threshold = options.Threshold,
            Verdict = !enough ? Verdicts.TooShort : watermarked ? Verdicts.Watermarked : Verdicts.NotWatermarked,
            KeysTried = keys,
            Epoch = watermarked ? _keys[best].Epoch : null,
            Tokens = colours,
        };
    }

    /// <summary>The words of a text (maximal runs of letters), in order.</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var letter = i < text.Length && char.IsLetter(text[i]);
            if (letter && start < 0)
            {
                start = i;
            }
            else if (!letter && start >= 0)
            {
                words.Add(text[start..i]);
                start = -1;
            }
        }

        return words;
    }

    private static ulong ContextSeed(WatermarkKey key, string previous) => key.Hash(Tag, Encoding.UTF8.GetBytes(previous));

    private static ulong MemberValue(ulong seed, string member) => WatermarkKey.Mix(seed ^ (ulong)Fnv1a(member));

    private static bool IsGreen(ulong seed, string word) => MemberValue(seed, word) < Threshold;

    /// <summary>FNV-1a 64 of the word's UTF-16 code units: a fixed, portable word id (string.GetHashCode is randomized per process).</summary>
    private static long Fnv1a(string word)
    {
        var hash = 0xcbf29ce484222325UL;
        foreach (var c in word)
        {
            hash = (hash ^ c) * 0x100000001b3UL;
        }

        return (long)hash;
    }

    private static string MatchCase(string original, string replacement)
    {
        if (original.Length > 1 && original.All(char.IsUpper))
        {
            return replacement.ToUpperInvariant();
        }

        return char.IsUpper(original[0]) ? char.ToUpperInvariant(replacement[0]) + replacement[1..] : replacement;
    }
}

/// <summary>The streaming form of <see cref="LexicalWatermark"/>: feed deltas, get marked text back with at most one word held.</summary>
/// <remarks>One instance per streamed choice; not thread-safe.</remarks>
public sealed class LexicalStream
{
    private readonly LexicalWatermark _watermark;
    private readonly StringBuilder _pending = new();
    private string _previous = "";

    internal LexicalStream(LexicalWatermark watermark) => _watermark = watermark;

    /// <summary>Adds a delta; returns the marked text that can be sent now (a trailing word is kept until it ends).</summary>
    public string Append(string delta)
    {
        _pending.Append(delta);
        var end = _pending.Length;
        while (end > 0 && char.IsLetter(_pending[end - 1]))
        {
            end--;
        }

        return Emit(end);
    }

    /// <summary>Returns whatever is still held back, marked.</summary>
    public string Flush() => Emit(_pending.Length);

    private string Emit(int end)
    {
        if (end == 0)
        {
            return "";
        }

        var text = _pending.ToString(0, end);
        _pending.Remove(0, end);
        var output = new StringBuilder(text.Length + 8);
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var letter = i < text.Length && char.IsLetter(text[i]);
            if (letter && start < 0)
            {
                start = i;
            }
            else if (!letter)
            {
                if (start >= 0)
                {
                    var word = text[start..i];
                    var chosen = _watermark.Choose(_previous, word);
                    output.Append(chosen);
                    _previous = chosen.ToLowerInvariant();
                    start = -1;
                }

                if (i < text.Length)
                {
                    output.Append(text[i]);
                }
            }
        }

        return output.ToString();
    }
}
