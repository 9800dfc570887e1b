using System.Buffers;
using System.Runtime.CompilerServices;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.LanguageModels.Topics;

/// <summary>
/// Finds the passages of the shipped corpus that are about a prompt's content words and their WordNet neighbourhood,
/// and turns their token counts into a <see cref="TopicBias"/> for the sampler.
/// </summary>
/// <remarks>
/// Passages are the training split (Brown paragraphs and WordNet glosses), so the teacher is conditioned only on text it
/// was trained on. A prompt's content words (function words and request verbs dropped, plural and verb endings
/// reduced) are expanded with the synonyms and hypernyms of their WordNet synsets; passages are scored by the summed
/// inverse document frequency of the words they contain (a neighbour counts less than the word itself, a synset's own
/// gloss more), and the best <see cref="Passages"/> are counted. Their whole-word tokens that are at least
/// <see cref="MinRatio"/> times more frequent there than in the corpus form a cache distribution (weighted by count ×
/// log ratio) that the sampler mixes into the model's with weight <see cref="CacheWeight"/> — the cache language model
/// of Kuhn &amp; De Mori (1990), filled from retrieved passages instead of the text so far. Thread-safe after construction.
/// </remarks>
public sealed class TopicIndex
{
    /// <summary>Passages counted per prompt.</summary>
    public const int Passages = 40;

    /// <summary>Most tokens in a prompt's topic cache.</summary>
    public const int MaxTopicTokens = 320;

    /// <summary>Weight λ of the topic cache in the mixture (1 − λ) · p_model + λ · p_cache.</summary>
    public const float CacheWeight = 0.12f;

    /// <summary>How many times more frequent in the passages than in the corpus a word must be to count as topical.</summary>
    public const double MinRatio = 4;

    private const float NeighbourWeight = 0.4f;
    private const float OwnGlossBonus = 2f;
    private const int MaxTerms = 16;
    private const int MaxNeighboursPerTerm = 8;

    private static readonly Lazy<TopicIndex> s_shipped = new(() => Build(
        [.. CorpusSplits.TrainingBrown(), .. CorpusSplits.Glosses()], [.. CorpusSplits.Synsets()]));

    private static readonly HashSet<string> s_functionWords =
    [
        "the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "had", "her", "was", "one", "our", "out",
        "has", "have", "him", "his", "how", "its", "may", "new", "now", "old", "see", "two", "way", "who", "did", "get",
        "let", "say", "she", "too", "use", "that", "with", "this", "from", "they", "will", "would", "there", "their",
        "what", "about", "which", "when", "make", "like", "time", "just", "know", "take", "into", "your", "some",
        "could", "them", "than", "then", "look", "only", "come", "over", "think", "also", "back", "after", "work",
        "first", "well", "even", "want", "because", "these", "give", "most", "very", "been", "were", "does", "more",
        "such", "much", "many", "each", "where", "why", "should", "shall", "must", "might", "being", "here", "those",
        "other", "while", "both", "between", "through", "during", "before", "under", "again", "same", "own", "off",
        "yes", "yours", "mine", "ours", "theirs", "whose", "whom", "upon", "onto", "within", "without", "per", "via",
        "please", "thanks", "thank", "explain", "describe", "tell", "write", "answer", "question", "questions",
        "show", "step", "steps", "detail", "details", "detailed", "depth", "full", "complete", "every", "list",
        "briefly", "brief", "short", "long", "word", "words", "sentence", "sentences", "paragraph", "paragraphs",
        "help", "need", "ask", "sure", "okay", "hello", "hey", "something", "anything", "everything", "thing", "things",
        "really", "reason", "reasoning", "solution", "solve", "provide", "include", "using", "used",
    ];

    private readonly int[][] _postings;
    private readonly Dictionary<string, int> _terms;
    private readonly string[] _passages;
    private readonly int _glossStart;
    private readonly string[] _synsets;
    private readonly Dictionary<string, int[]> _lemmaSynsets;
    private readonly ConditionalWeakTable<ILanguageModel, float[]> _backgrounds = [];

    private TopicIndex(string[] passages, int glossStart, string[] synsets)
    {
        _passages = passages;
        _glossStart = glossStart;
        _synsets = synsets;
        var postings = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var p = 0; p < passages.Length; p++)
        {
            seen.Clear();
            foreach (var word in ContentWords(passages[p]))
            {
                if (seen.Add(word))
                {
                    if (!postings.TryGetValue(word, out var list))
                    {
                        postings[word] = list = [];
                    }

                    list.Add(p);
                }
            }
        }

        _terms = new Dictionary<string, int>(postings.Count, StringComparer.Ordinal);
        _postings = new int[postings.Count][];
        foreach (var (word, list) in postings)
        {
            _postings[_terms.Count] = [.. list];
            _terms[word] = _terms.Count;
        }

        var lemmaSynsets = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var s = 0; s < synsets.Length; s++)
        {
            var tab = synsets[s].IndexOf('\t');
            foreach (var lemma in (tab < 0 ? synsets[s] : synsets[s][..tab]).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!lemmaSynsets.TryGetValue(lemma, out var list))
                {
                    lemmaSynsets[lemma] = list = [];
                }

                list.Add(s);
            }
        }

        _lemmaSynsets = lemmaSynsets.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The index over the shipped corpus, built on first use (about a second).</summary>
    public static TopicIndex Shipped => s_shipped.Value;

    /// <summary>Number of passages indexed.</summary>
    public int PassageCount => _passages.Length;

    /// <summary>Builds an index over <paramref name="passages"/>, whose last <paramref name="synsets"/>.Count entries are the glosses the synset lines describe.</summary>
    public static TopicIndex Build(IReadOnlyList<string> passages, IReadOnlyList<string> synsets)
    {
        ArgumentNullException.ThrowIfNull(passages);
        ArgumentNullException.ThrowIfNull(synsets);
        if (synsets.Count > passages.Count)
        {
            throw new ArgumentException("There are more synset lines than passages.", nameof(synsets));
        }

        return new TopicIndex([.. passages], passages.Count - synsets.Count, [.. synsets]);
    }

    /// <summary>The content words of <paramref name="text"/> in base form, in order, without repeats.</summary>
    public IReadOnlyList<string> TermsOf(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var terms = new List<string>();
        foreach (var word in ContentWords(text))
        {
            var term = BaseForm(word);
            if (!terms.Contains(term))
            {
                terms.Add(term);
            }
        }

        return terms;
    }

    /// <summary>
    /// The topic bias of <paramref name="text"/> for <paramref name="model"/> (whose unigram distribution is the
    /// background), or null when the text has no content word the corpus knows.
    /// </summary>
    public TopicBias? BiasFor(string text, ILanguageModel model, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var weights = new Dictionary<int, float>();
        var ownGlosses = new List<(int Passage, float Bonus)>();
        var terms = new List<string>();
        foreach (var term in TermsOf(text))
        {
            if (terms.Count == MaxTerms)
            {
                break;
            }

            var known = false;
            foreach (var form in FormsOf(term))
            {
                known |= AddTerm(weights, form, 1f);
            }

            if (_lemmaSynsets.TryGetValue(term, out var synsets))
            {
                known = true;
                var neighbours = 0;
                foreach (var s in synsets.AsSpan(0, Math.Min(synsets.Length, 4)))
                {
                    ownGlosses.Add((_glossStart + s, OwnGlossBonus * Idf(term)));
                    foreach (var neighbour in _synsets[s].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (neighbours < MaxNeighboursPerTerm && neighbour != term && !neighbour.Contains('_') && AddTerm(weights, neighbour, NeighbourWeight))
                        {
                            neighbours++;
                        }
                    }
                }
            }

            if (known)
            {
                terms.Add(term);
            }
        }

        if (terms.Count == 0)
        {
            return null;
        }

        var scores = ArrayPool<float>.Shared.Rent(_passages.Length);
        var touched = new List<int>();
        try
        {
            Array.Clear(scores, 0, _passages.Length);
            foreach (var (termId, weight) in weights)
            {
                var postings = _postings[termId];
                var idf = (float)Math.Log((double)_passages.Length / postings.Length);
                foreach (var p in postings)
                {
                    if (scores[p] == 0f)
                    {
                        touched.Add(p);
                    }

                    scores[p] += weight * idf;
                }
            }

            foreach (var (p, bonus) in ownGlosses)
            {
                if (scores[p] == 0f)
                {
                    touched.Add(p);
                }

                scores[p] += bonus;
            }

            // Best passages first; ties by position, so the choice is deterministic.
            touched.Sort((a, b) => scores[b] != scores[a] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b));
            var chosen = touched.Take(Passages).ToList();
            return Count(chosen, terms, model, tokenizer);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
        }
    }

    private TopicBias? Count(List<int> chosen, List<string> terms, ILanguageModel model, TextTokenizer tokenizer)
    {
        var counts = new Dictionary<int, int>();
        var total = 0;
        foreach (var p in chosen)
        {
            foreach (var id in tokenizer.Encode(_passages[p]))
            {
                if (id < model.VocabularySize && id != TextTokenizer.EndOfText)
                {
                    counts[id] = counts.GetValueOrDefault(id) + 1;
                    total++;
                }
            }
        }

        var background = BackgroundOf(model);
        var topical = new List<(int Id, double Weight)>();
        foreach (var (id, count) in counts)
        {
            // A token seen once in the passages is as likely noise as topic; a word piece without its leading space
            // would land inside other words and break them, so only whole-word starts are drawn from the cache; and a
            // word no more frequent in the passages than in the corpus is not topical.
            if (count < 2 || !StartsWord(tokenizer.GetTokenText(id)))
            {
                continue;
            }

            var ratio = count / (double)total / background[id];
            if (ratio >= MinRatio)
            {
                topical.Add((id, count * Math.Log(ratio)));
            }
        }

        if (topical.Count == 0)
        {
            return null;
        }

        topical.Sort((a, b) => a.Weight != b.Weight ? b.Weight.CompareTo(a.Weight) : a.Id.CompareTo(b.Id));
        if (topical.Count > MaxTopicTokens)
        {
            topical.RemoveRange(MaxTopicTokens, topical.Count - MaxTopicTokens);
        }

        // Ascending ids: the sampler's sparse set then collects them in a fixed order.
        topical.Sort((a, b) => a.Id.CompareTo(b.Id));
        var sum = topical.Sum(t => t.Weight);
        return new TopicBias([.. topical.Select(t => t.Id)], [.. topical.Select(t => (float)(t.Weight / sum))], CacheWeight, terms, chosen.Count);
    }

    private static bool StartsWord(string token) => token.Length >= 4 && token[0] == ' ' && token.AsSpan(1).ContainsAnyExcept(' ') && char.IsAsciiLetter(token[1]);

    private float[] BackgroundOf(ILanguageModel model) => _backgrounds.GetValue(model, static m =>
    {
        // The empty context scores the model's unigram distribution.
        var background = new float[m.VocabularySize];
        m.GetLogProbabilities([], background);
        System.Numerics.Tensors.TensorPrimitives.Exp(background, background);
        return background;
    });

    private bool AddTerm(Dictionary<int, float> weights, string word, float weight)
    {
        if (!_terms.TryGetValue(word, out var id))
        {
            return false;
        }

        // Words in a tenth of all passages carry no topic.
        if (_postings[id].Length * 10 > _passages.Length)
        {
            return false;
        }

        weights[id] = Math.Max(weights.GetValueOrDefault(id), weight);
        return true;
    }

    private float Idf(string word) => _terms.TryGetValue(word, out var id)
        ? (float)Math.Log((double)_passages.Length / _postings[id].Length)
        : (float)Math.Log(_passages.Length);

    /// <summary>A word and its regular inflections as the corpus may spell them.</summary>
    private static IEnumerable<string> FormsOf(string term)
    {
        yield return term;
        yield return term + "s";
        if (term.EndsWith('y'))
        {
            yield return term[..^1] + "ies";
        }
        else
        {
            yield return term + "es";
        }
    }

    /// <summary>Reduces a plural or a verb ending to a base form (a crude stemmer: enough to find a WordNet lemma).</summary>
    private static string BaseForm(string word)
    {
        if (word.Length > 4 && word.EndsWith("ies", StringComparison.Ordinal))
        {
            return word[..^3] + "y";
        }

        if (word.Length > 4 && (word.EndsWith("sses", StringComparison.Ordinal) || word.EndsWith("ches", StringComparison.Ordinal) || word.EndsWith("shes", StringComparison.Ordinal) || word.EndsWith("xes", StringComparison.Ordinal)))
        {
            return word[..^2];
        }

        if (word.Length > 3 && word.EndsWith('s') && !word.EndsWith("ss", StringComparison.Ordinal) && !word.EndsWith("us", StringComparison.Ordinal) && !word.EndsWith("is", StringComparison.Ordinal))
        {
            return word[..^1];
        }

        return word;
    }

    /// <summary>Lower-case words of three or more letters that are not function words.</summary>
    private static IEnumerable<string> ContentWords(string text)
    {
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var letter = i < text.Length && char.IsAsciiLetter(text[i]);
            if (letter && start < 0)
            {
                start = i;
            }
            else if (!letter && start >= 0)
            {
                if (i - start >= 3)
                {
                    var word = text[start..i].ToLowerInvariant();
                    if (!s_functionWords.Contains(word))
                    {
                        yield return word;
                    }
                }

                start = -1;
            }
        }
    }
}
