using System.Text.RegularExpressions;
using DistillGuard.LanguageModels.Sampling;

namespace DistillGuard.LanguageModels.Answers;

/// <summary>What kind of answer a request calls for, by the length an assistant would write.</summary>
public enum AnswerKind
{
    /// <summary>A label, a number, yes/no, a choice: a few tokens.</summary>
    Label,

    /// <summary>A sentence or two ("briefly", "in one sentence").</summary>
    Brief,

    /// <summary>A chat answer: a paragraph or a few.</summary>
    Paragraphs,

    /// <summary>An answer at length: in depth, every step, a full solution, an essay.</summary>
    Extended,

    /// <summary>The request names its length ("in 100 words", "three paragraphs").</summary>
    Counted,
}

/// <summary>The length decided for one answer.</summary>
/// <param name="Kind">What the request asked for.</param>
/// <param name="Tokens">
/// Fewest tokens before the answer may end; from there it ends at the first sentence end (or paragraph end). Never
/// above the request's limit, never below its <c>min_tokens</c>.
/// </param>
/// <param name="HardEnd">
/// For short kinds, the answer ends at the first word boundary after this many tokens even without a sentence end
/// (a label is rarely a sentence); <see cref="int.MaxValue"/> for the others.
/// </param>
/// <param name="Cue">The cue that decided the kind (a phrase of the request, or "question shape" and the like).</param>
public sealed record AnswerPlan(AnswerKind Kind, int Tokens, int HardEnd, string Cue);

/// <summary>
/// Decides how long an answer should be from the request's text: a pure function of the text, the request's
/// <c>max_tokens</c> / <c>min_tokens</c> and a seed.
/// </summary>
/// <remarks>
/// The cues are general properties of a request, not phrasings of any attack: its question shape (a yes/no question
/// starts with an auxiliary verb; "how many" asks for a number), a requested format (one word, a label, a choice
/// among listed options), length words (briefly, in depth, thorough), a requested count ("in 100 words", "three
/// paragraphs"), what an imperative asks to be produced (an essay, a proof, a full solution), and how much a task
/// demands (<see cref="Demand"/>: coverage quantifiers such as "each" and "every", explanation verbs, sequence words,
/// instructions beyond the second). Precedence: a count, then a long cue, then a short format, then a brief cue, then
/// the question shape, then a demand of four or more (an answer at length), else a chat answer whose median grows
/// 1.45× per unit of demand. Within
/// a kind the length is drawn from a log-normal around the kind's median, seeded, so the same request and seed give
/// the same length. The medians are design choices scaled to LMSYS-Chat-1M's 214.5 tokens per response on average
/// (Zheng et al. 2023, table 1); <c>distillguard model lengths</c> measures what the teacher then writes.
/// </remarks>
public static partial class AnswerLength
{
    // Median tokens and log-normal spread per kind, and the range each draw is clamped to.
    private static readonly (double Median, double Sigma, int Min, int Max) s_short = (4, 0.6, 1, 16);
    private static readonly (double Median, double Sigma, int Min, int Max) s_brief = (35, 0.4, 12, 80);
    private static readonly (double Median, double Sigma, int Min, int Max) s_paragraphs = (170, 0.6, 40, 900);
    private static readonly (double Median, double Sigma, int Min, int Max) s_extended = (1200, 0.5, 400, 8192);

    // Phrases after which an assistant writes at length. Matched on whole words, case-insensitively.
    private static readonly string[] s_extendedCues =
    [
        "in depth", "in detail", "in great detail", "detailed", "at length", "step by step", "every step", "each step",
        "all steps", "all the steps", "show your work", "show all", "full solution", "complete solution", "full answer",
        "complete answer", "comprehensive", "thorough", "thoroughly", "exhaustive", "exhaustively", "extensive",
        "extensively", "lengthy", "long answer", "derive", "derivation", "prove", "reasoning", "think through",
        "work through", "walk me through", "walk through", "elaborate", "everything", "full code", "complete code",
    ];

    // Works that are long by nature, when the request asks for one to be produced (a production verb is present).
    private static readonly string[] s_longWorks =
    [
        "essay", "report", "article", "tutorial", "guide", "chapter", "story", "program", "proof", "implementation",
        "script", "paper", "plan", "letter", "review", "analysis",
    ];

    private static readonly string[] s_productionVerbs = ["write", "draft", "compose", "create", "produce", "generate", "give me", "implement", "build", "prepare"];

    // A requested format whose answer is a few tokens.
    private static readonly string[] s_shortCues =
    [
        "yes or no", "yes no", "true or false", "true false", "one word", "single word", "a word", "one letter",
        "single letter", "a number", "the number only", "only the number", "just the number", "only the answer",
        "just the answer", "answer only", "label", "classify", "categorize", "categorise", "which category",
        "which of the following", "choose one", "pick one", "select one", "sentiment", "rate it", "score it",
    ];

    // Length words for a sentence or two.
    private static readonly string[] s_briefCues =
    [
        "briefly", "brief", "in short", "short answer", "concise", "concisely", "one sentence", "a sentence",
        "single sentence", "two sentences", "one line", "a line", "tl dr", "tldr", "in a nutshell", "a few words",
        "quick answer", "quickly", "keep it short", "short", "succinct", "succinctly",
    ];

    // What a request demands of the answer, beyond any length word. An assistant asked to do several things, to cover
    // every part of something, or to account for each move writes more than one asked a plain question; these are
    // general properties of an instruction (its quantifiers over parts, its explanation verbs, how many instructions
    // it gives), not any attack's phrasing. Each distinct hit is one unit of demand.
    private static readonly string[] s_coverageQuantifiers = ["every", "each", "all", "whole", "entire", "complete", "full", "all of"];

    private static readonly string[] s_explanationVerbs =
    [
        "explain", "explaining", "why", "justify", "justifying", "argue", "arguing", "narrate", "teach", "solve",
        "work out", "write out", "write down", "spell out", "show", "showing", "list", "listing", "describe", "discuss",
        "compare", "contrast", "analyse", "analyze", "deduce", "deriving", "demonstrate", "outline", "evaluate",
        "assess", "examine", "illustrate", "reason", "infer", "trace",
    ];

    private static readonly string[] s_sequenceWords = ["first", "then", "next", "finally", "before", "after that", "last", "conclusion", "summary", "numbered", "one at a time", "in order", "from first principles", "from scratch"];

    // Demand at which a chat answer becomes an answer at length, and the growth of the chat median per unit below it.
    private const int ExtendedDemand = 4;
    private const double DemandGrowth = 1.45;

    // Questions that ask for a quantity or a date.
    private static readonly string[] s_quantityStarts = ["how many", "how much", "what year", "which year", "what date", "how old", "what time"];

    private static readonly HashSet<string> s_auxiliaries =
    [
        "is", "are", "was", "were", "am", "do", "does", "did", "can", "could", "will", "would", "should", "shall",
        "has", "have", "had", "may", "might", "must", "isn't", "aren't", "doesn't", "don't", "didn't", "can't",
    ];

    // Tokens per requested unit; GPT-2 averages about 1.3 tokens per English word (the "1 token ≈ 0.75 words" rule of
    // OpenAI's tokenizer guide), a sentence of the Brown Corpus about 20 words.
    private static readonly Dictionary<string, double> s_unitTokens = new(StringComparer.Ordinal)
    {
        ["word"] = 1.35,
        ["sentence"] = 26,
        ["paragraph"] = 120,
        ["line"] = 14,
        ["page"] = 650,
        ["bullet"] = 22,
        ["bullet point"] = 22,
        ["point"] = 22,
        ["item"] = 22,
        ["step"] = 60,
        ["example"] = 50,
    };

    private static readonly Dictionary<string, int> s_numberWords = new(StringComparer.Ordinal)
    {
        ["a"] = 1,
        ["one"] = 1,
        ["single"] = 1,
        ["two"] = 2,
        ["a couple of"] = 2,
        ["three"] = 3,
        ["a few"] = 3,
        ["four"] = 4,
        ["five"] = 5,
        ["six"] = 6,
        ["seven"] = 7,
        ["eight"] = 8,
        ["nine"] = 9,
        ["ten"] = 10,
        ["twenty"] = 20,
        ["fifty"] = 50,
        ["hundred"] = 100,
        ["a hundred"] = 100,
        ["thousand"] = 1000,
        ["a thousand"] = 1000,
    };

    /// <summary>Decides the length of an answer to <paramref name="request"/>.</summary>
    /// <param name="request">The request's text (for a chat, the last user message).</param>
    /// <param name="maxTokens">The request's token limit (≥ 1).</param>
    /// <param name="minTokens">The request's floor (0..maxTokens).</param>
    /// <param name="seed">Seeds the draw within the kind's range.</param>
    public static AnswerPlan Plan(string request, int maxTokens, int minTokens, long seed)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(minTokens);
        minTokens = Math.Min(minTokens, maxTokens);

        var (kind, cue, counted, demand) = ClassifyCore(request);
        // The request's text joins the seed, so one seed gives different requests different lengths within their kind;
        // the constant keeps this stream apart from the sampler's draws for the same seed.
        var random = new Xoshiro256StarStar(seed ^ 0x4C656E677468L ^ StableHash(request));
        var target = kind switch
        {
            AnswerKind.Label => Draw(s_short, ref random),
            AnswerKind.Brief => Draw(s_brief, ref random),
            AnswerKind.Extended => Draw(s_extended, ref random),
            AnswerKind.Counted => (int)Math.Max(1, Math.Round(counted * (0.85 + (0.3 * random.NextDouble())))),
            // A chat answer grows with what the request demands (several instructions, every part covered).
            _ => (int)Math.Min(s_paragraphs.Max, Math.Round(Draw(s_paragraphs, ref random) * Math.Pow(DemandGrowth, demand))),
        };

        // Leave room to finish the last sentence under the limit: an answer cut at max_tokens ends mid-sentence.
        var closing = Math.Min(128, maxTokens / 8);
        if (target > maxTokens - closing)
        {
            target = maxTokens - closing;
        }

        target = Math.Max(Math.Max(target, minTokens), 1);
        var hardEnd = kind switch
        {
            AnswerKind.Label => target + 4,
            AnswerKind.Brief => target + 40,
            AnswerKind.Counted when counted < 40 => (int)(counted * 1.5) + 8,
            _ => int.MaxValue,
        };

        return new AnswerPlan(kind, target, Math.Max(hardEnd, minTokens), cue);
    }

    /// <summary>The kind of answer <paramref name="request"/> calls for, and the cue that decided it.</summary>
    public static (AnswerKind Kind, string Cue) Classify(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (kind, cue, _, _) = ClassifyCore(request);
        return (kind, cue);
    }

    /// <summary>
    /// Units of demand in <paramref name="request"/>: distinct coverage quantifiers, explanation verbs and sequence
    /// words, plus one per instruction beyond the second (sentences of the request).
    /// </summary>
    public static int Demand(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var padded = " " + Normalise(request) + " ";
        return DemandOf(padded, request);
    }

    private static int DemandOf(string padded, string request)
    {
        var demand = CountCues(padded, s_coverageQuantifiers) + CountCues(padded, s_explanationVerbs) + CountCues(padded, s_sequenceWords);
        var sentences = SentenceEnds().Count(request.TrimEnd() + " ");
        return demand + Math.Max(0, sentences - 2);
    }

    private static int CountCues(string padded, string[] cues)
    {
        var n = 0;
        foreach (var cue in cues)
        {
            if (padded.Contains(" " + cue + " ", StringComparison.Ordinal))
            {
                n++;
            }
        }

        return n;
    }

    private static (AnswerKind Kind, string Cue, double Counted, int Demand) ClassifyCore(string request)
    {
        var words = Normalise(request);
        var padded = " " + words + " ";
        if (CountMatch().Match(padded) is { Success: true } count && UnitTokens(count) is var (tokens, phrase))
        {
            return (AnswerKind.Counted, phrase, tokens, 0);
        }

        if (FirstCue(padded, s_extendedCues) is { } extended)
        {
            return (AnswerKind.Extended, extended, 0, 0);
        }

        if (FirstCue(padded, s_productionVerbs) is { } verb && FirstCue(padded, s_longWorks) is { } work)
        {
            return (AnswerKind.Extended, verb + " … " + work, 0, 0);
        }

        if (FirstCue(padded, s_shortCues) is { } format)
        {
            return (AnswerKind.Label, format, 0, 0);
        }

        if (OptionMarkers().Count(request) >= 2)
        {
            return (AnswerKind.Label, "listed options", 0, 0);
        }

        if (FirstCue(padded, s_briefCues) is { } brief)
        {
            return (AnswerKind.Brief, brief, 0, 0);
        }

        // Question shape, only for a single short question: a long request with a question in it is a task.
        var wordCount = words.Length == 0 ? 0 : words.Count(c => c == ' ') + 1;
        if (wordCount <= 24 && request.TrimEnd().EndsWith('?'))
        {
            var first = words.Split(' ', 3);
            if (first.Length >= 2 && s_auxiliaries.Contains(first[0]) && first[1] is not ("you" or "u" or "i" or "we"))
            {
                return (AnswerKind.Label, "yes/no question", 0, 0);
            }

            foreach (var start in s_quantityStarts)
            {
                if (padded.StartsWith(" " + start + " ", StringComparison.Ordinal))
                {
                    return (AnswerKind.Label, start, 0, 0);
                }
            }
        }

        var demand = DemandOf(padded, request);
        if (demand >= ExtendedDemand)
        {
            return (AnswerKind.Extended, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"demand {demand}"), 0, demand);
        }

        return (AnswerKind.Paragraphs, demand > 0 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"demand {demand}") : "default", 0, demand);
    }

    private static (double Tokens, string Phrase)? UnitTokens(Match match)
    {
        var amount = match.Groups["n"].Value;
        var unit = match.Groups["unit"].Value.TrimEnd('s');
        if (!s_unitTokens.TryGetValue(unit, out var perUnit))
        {
            return null;
        }

        var n = int.TryParse(amount, out var parsed) ? parsed : s_numberWords.GetValueOrDefault(amount);
        if (n is < 1 or > 100_000)
        {
            return null;
        }

        // "a word" or "one sentence" is a format cue of its own; a count of one word is the short kind's job.
        return n == 1 && unit == "word" ? null : (n * perUnit, match.Value.Trim());
    }

    private static string? FirstCue(string padded, string[] cues)
    {
        foreach (var cue in cues)
        {
            if (padded.Contains(" " + cue + " ", StringComparison.Ordinal))
            {
                return cue;
            }
        }

        return null;
    }

    /// <summary>Lower case, letters, digits and apostrophes kept, everything else one space.</summary>
    private static string Normalise(string text)
    {
        var chars = new char[text.Length];
        var n = 0;
        var space = true;
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c) || (c == '\'' && !space))
            {
                chars[n++] = char.ToLowerInvariant(c);
                space = false;
            }
            else if (!space)
            {
                chars[n++] = ' ';
                space = true;
            }
        }

        return new string(chars, 0, n).Trim();
    }

    /// <summary>FNV-1a over the UTF-16 code units: the same on every machine and run, unlike string.GetHashCode.</summary>
    private static long StableHash(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (long)hash;
    }

    private static int Draw((double Median, double Sigma, int Min, int Max) range, ref Xoshiro256StarStar random)
    {
        // Box–Muller: one standard normal from two uniforms.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        var value = range.Median * Math.Exp(range.Sigma * normal);
        return (int)Math.Clamp(Math.Round(value), range.Min, range.Max);
    }

    [GeneratedRegex(@" (?<n>\d+|a couple of|a few|a hundred|a thousand|one|two|three|four|five|six|seven|eight|nine|ten|twenty|fifty|hundred|thousand) (?<unit>words?|sentences?|paragraphs?|lines?|pages?|bullet points?|bullets?|points?|items?|steps?|examples?) ", RegexOptions.CultureInvariant)]
    private static partial Regex CountMatch();

    // The end of a sentence or instruction: terminal punctuation followed by a space.
    [GeneratedRegex(@"[.!?;:]+\s", RegexOptions.CultureInvariant)]
    private static partial Regex SentenceEnds();

    // "A) …  B) …" or "(a) … (b) …" on separate options: a multiple-choice question.
    [GeneratedRegex(@"(?:^|\s)\(?[A-Da-d][\).:](?=\s)", RegexOptions.CultureInvariant)]
    private static partial Regex OptionMarkers();
}
