using DistillGuard.Detection.Sketches;

namespace DistillGuard.Detection.Prompts;

/// <summary>What one prompt looks like once values are masked: template fingerprints, topic, elicitation.</summary>
/// <param name="SkeletonHash">Hash of the whole skeleton: equal for one template filled with different numbers, quotes or names.</param>
/// <param name="PrefixHash">Hash of the first <see cref="PromptAnalysis.EdgeTokens"/> skeleton tokens (system prompt, instruction head).</param>
/// <param name="SuffixHash">Hash of the last <see cref="PromptAnalysis.EdgeTokens"/> skeleton tokens (instruction tail).</param>
/// <param name="SimHash">SimHash-64 of the skeleton's token bigrams, for near-duplicates.</param>
/// <param name="TopicHash">SimHash-64 of the content words only; its top bits are a topic bucket.</param>
/// <param name="Elicitation">Reasoning-elicitation/harvesting score in [0, 1].</param>
/// <param name="Capability">Index into <see cref="Lexicons.CapabilityNames"/> of the dominant capability area (0: none).</param>
/// <param name="Tokens">Skeleton tokens read.</param>
/// <param name="ContentWords">Content-word hashes written to the caller's buffer.</param>
/// <param name="Structure">How many kinds of answer scaffolding the prompt lays out (0–3), see <see cref="PromptAnalysis.StructuredAt"/>.</param>
internal readonly record struct PromptShape(
    ulong SkeletonHash, ulong PrefixHash, ulong SuffixHash, ulong SimHash, ulong TopicHash,
    double Elicitation, byte Capability, int Tokens, int ContentWords, byte Structure = 0)
{
    /// <summary>True when the prompt lays out at least <see cref="PromptAnalysis.StructuredAt"/> kinds of scaffolding.</summary>
    public bool Structured => Structure >= PromptAnalysis.StructuredAt;

    /// <summary>True when the prompt had any token.</summary>
    public bool HasText => Tokens > 0;
}

/// <summary>Turns prompt text into a <see cref="PromptShape"/> in one allocation-free pass.</summary>
internal static class PromptAnalysis
{
    /// <summary>Tokens hashed at each end of the skeleton for the prefix and suffix template keys.</summary>
    public const int EdgeTokens = 10;

    /// <summary>
    /// Kinds of scaffolding (labelled fields, enumerated lines, format delimiters) from which a prompt counts as
    /// prescribing its answer's structure. One kind is common (a "Question:/Answer:" pair, a pasted list, a JSON
    /// snippet); a prompt that labels its fields *and* enumerates parts or fixes a format is writing a form to be filled.
    /// </summary>
    public const int StructuredAt = 2;

    /// <summary>Longest phrase in the elicitation lexicon, in tokens.</summary>
    private const int PhraseWindow = 8;

    private static readonly ulong[][] PhraseTokens = Lexicons.ElicitationPhrases.Select(p => Tokenize(p.Phrase)).ToArray();

    /// <summary>Last token hash → indices of phrases ending with it.</summary>
    private static readonly Dictionary<ulong, int[]> PhrasesByLastToken = PhraseTokens
        .Select((tokens, index) => (tokens, index))
        .GroupBy(p => p.tokens[^1])
        .ToDictionary(g => g.Key, g => g.Select(p => p.index).ToArray());

    /// <summary>Analyses <paramref name="text"/>; content-word hashes go to <paramref name="contentWords"/> (as many as fit).</summary>
    public static PromptShape Analyse(ReadOnlySpan<char> text, Span<ulong> contentWords)
    {
        Span<char> word = stackalloc char[SkeletonTokenizer.MaxWordChars];
        Span<int> skeletonVotes = stackalloc int[64];
        Span<int> topicVotes = stackalloc int[64];
        Span<ulong> recent = stackalloc ulong[Math.Max(EdgeTokens, PhraseWindow)];
        Span<int> capabilityHits = stackalloc int[Lexicons.CapabilityNames.Length];
        capabilityHits.Clear();
        var skeleton = new SimHashBuilder(skeletonVotes);
        var topic = new SimHashBuilder(topicVotes);
        var tokenizer = new SkeletonTokenizer(text, word);
        ulong whole = 0x243F6A8885A308D3UL, prefix = whole, previous = 0;
        var count = 0;
        var contentCount = 0;
        ulong matched = 0;
        var elicitation = 0.0;
        var scaffold = new Scaffold();
        while (tokenizer.MoveNext())
        {
            scaffold.Add(ref tokenizer);
            var hash = tokenizer.Hash;
            whole = HashMix.Mix(whole ^ hash) + 0x9E3779B97F4A7C15UL;
            if (count < EdgeTokens)
            {
                prefix = whole;
            }

            skeleton.Add(count == 0 ? hash : (previous * 0x100000001B3UL) ^ hash);
            recent[count % recent.Length] = hash;
            previous = hash;
            count++;

            if (tokenizer.Kind != SkeletonTokenKind.Word)
            {
                continue;
            }

            if (PhrasesByLastToken.TryGetValue(hash, out var phrases))
            {
                foreach (var index in phrases)
                {
                    if ((matched & (1UL << index)) == 0 && EndsWith(recent, count, PhraseTokens[index]))
                    {
                        matched |= 1UL << index;
                        elicitation += Lexicons.ElicitationPhrases[index].Weight;
                    }
                }
            }

            if (tokenizer.WordLength >= 4 && !Lexicons.StopWords.Contains(hash))
            {
                topic.Add(hash);
                if (contentCount < contentWords.Length)
                {
                    contentWords[contentCount++] = hash;
                }

                if (Lexicons.Capabilities.TryGetValue(hash, out var area))
                {
                    capabilityHits[area]++;
                }
            }
            else if (Lexicons.Capabilities.TryGetValue(hash, out var shortArea))
            {
                // Short domain words ("sql", "law", "war", "api") still name an area.
                capabilityHits[shortArea]++;
            }
        }

        var suffix = 0xB7E151628AED2A6AUL;
        var edge = Math.Min(count, EdgeTokens);
        for (var i = count - edge; i < count; i++)
        {
            suffix = HashMix.Mix(suffix ^ recent[i % recent.Length]) + 0x9E3779B97F4A7C15UL;
        }

        byte capability = 0;
        for (var i = 1; i < capabilityHits.Length; i++)
        {
            if (capabilityHits[i] > capabilityHits[capability])
            {
                capability = (byte)i;
            }
        }

        return new PromptShape(
            count == 0 ? 0 : whole,
            count == 0 ? 0 : prefix,
            count == 0 ? 0 : suffix,
            skeleton.ToHash(),
            topic.ToHash(),
            1 - Math.Exp(-elicitation),
            capability,
            count,
            contentCount,
            scaffold.Kinds);
    }

    /// <summary>The skeleton as text (masked tokens shown as <c>#</c>, <c>"…"</c>, <c>&lt;url&gt;</c>, <c>N</c>), for tests and analysts.</summary>
    public static string Skeleton(string text)
    {
        Span<char> word = stackalloc char[SkeletonTokenizer.MaxWordChars];
        var tokenizer = new SkeletonTokenizer(text, word);
        var builder = new System.Text.StringBuilder();
        while (tokenizer.MoveNext())
        {
            if (builder.Length > 0)
            {
                builder.Append(' ');
            }

            _ = tokenizer.Kind switch
            {
                SkeletonTokenKind.Word => builder.Append(tokenizer.Word),
                SkeletonTokenKind.Number => builder.Append('#'),
                SkeletonTokenKind.Quoted => builder.Append("\"…\""),
                SkeletonTokenKind.Url => builder.Append("<url>"),
                SkeletonTokenKind.Name => builder.Append('N'),
                _ => builder.Append(tokenizer.Punctuation),
            };
        }

        return builder.ToString();
    }

    /// <summary>
    /// Layout cues of a prompt that lays out the answer it wants, read from punctuation and line starts only — no word
    /// list, so rephrasing the request does not remove them: field labels (any word opening a line and followed by a
    /// colon, or a markdown header), enumerated lines ("1." / "2)" / "-" / "*" opening a line) and format delimiters
    /// (braces, angle brackets, table bars).
    /// </summary>
    private struct Scaffold
    {
        private SkeletonTokenKind _previousKind;
        private bool _previousLineStart;
        private int _labels;
        private int _enumerated;
        private int _delimiters;

        /// <summary>Kinds of scaffolding seen: two labelled lines, two enumerated lines, four delimiters each count one.</summary>
        public readonly byte Kinds => (byte)((_labels >= 2 ? 1 : 0) + (_enumerated >= 2 ? 1 : 0) + (_delimiters >= 4 ? 1 : 0));

        public void Add(ref SkeletonTokenizer token)
        {
            if (token.Kind == SkeletonTokenKind.Punctuation)
            {
                var c = token.Punctuation;
                if ((c == ':' && _previousLineStart && _previousKind is SkeletonTokenKind.Word or SkeletonTokenKind.Name) || (token.LineStart && c == '#'))
                {
                    // "Label:" opening a line, or a markdown header: a named section.
                    _labels++;
                }
                else if (c is '.' or ')' && _previousLineStart && _previousKind == SkeletonTokenKind.Number)
                {
                    _enumerated++;
                }
                else if (token.LineStart && c is '-' or '*' or '•')
                {
                    _enumerated++;
                }
                else if (c is '{' or '}' or '<' or '>' or '|')
                {
                    _delimiters++;
                }
            }

            _previousKind = token.Kind;
            _previousLineStart = token.LineStart;
        }
    }

    private static bool EndsWith(ReadOnlySpan<ulong> ring, int count, ulong[] phrase)
    {
        if (phrase.Length > count)
        {
            return false;
        }

        for (var i = 0; i < phrase.Length; i++)
        {
            if (ring[(count - phrase.Length + i) % ring.Length] != phrase[i])
            {
                return false;
            }
        }

        return true;
    }

    private static ulong[] Tokenize(string phrase)
    {
        Span<char> word = stackalloc char[SkeletonTokenizer.MaxWordChars];
        var tokenizer = new SkeletonTokenizer(phrase, word);
        var tokens = new List<ulong>();
        while (tokenizer.MoveNext())
        {
            tokens.Add(tokenizer.Hash);
        }

        return [.. tokens];
    }
}
