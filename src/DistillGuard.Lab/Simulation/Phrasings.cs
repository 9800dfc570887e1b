using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using DistillGuard.Lab.Simulation.Archetypes;

namespace DistillGuard.Lab.Simulation;

/// <summary>Where a scenario's templated prompts come from.</summary>
public enum PhrasingSource
{
    /// <summary>The simulator's own templates (AttackPrompts, PlainPrompts, the archetype classes): what development sees.</summary>
    Simulator,

    /// <summary>The simulator's templates rewritten once per account through WordNet synonyms, with clauses reordered.</summary>
    WordNet,

    /// <summary>The committed held-out set (Simulation/HeldOut/templates.txt), written apart from templates and lexicon.</summary>
    HeldOut,
}

/// <summary>
/// The templated prompt material archetypes draw from, from one <see cref="PhrasingSource"/>. With the simulator's
/// source every pick draws exactly what the archetypes drew before there was a choice, so its traffic is unchanged.
/// </summary>
internal sealed partial class Phrasings
{
    private static readonly Lazy<Phrasings> s_simulator = new(() => new Phrasings(PhrasingSource.Simulator, SimulatorSet()));
    private static readonly Lazy<Phrasings> s_wordNet = new(() => new Phrasings(PhrasingSource.WordNet, SimulatorSet()));
    private static readonly Lazy<Phrasings> s_heldOut = new(() => new Phrasings(PhrasingSource.HeldOut, HeldOutSet()));

    private readonly IReadOnlyDictionary<string, string[]> _sets;

    private Phrasings(PhrasingSource source, IReadOnlyDictionary<string, string[]> sets)
    {
        Source = source;
        _sets = sets;
    }

    public PhrasingSource Source { get; }

    public static Phrasings For(PhrasingSource source) => source switch
    {
        PhrasingSource.Simulator => s_simulator.Value,
        PhrasingSource.WordNet => s_wordNet.Value,
        PhrasingSource.HeldOut => s_heldOut.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "Unknown phrasing source."),
    };

    /// <summary>Parses a CLI name: simulator, wordnet or heldout.</summary>
    public static PhrasingSource Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "simulator" => PhrasingSource.Simulator,
        "wordnet" => PhrasingSource.WordNet,
        "heldout" or "held-out" => PhrasingSource.HeldOut,
        _ => throw new ArgumentException($"Unknown phrasing source '{name}': use simulator, wordnet or heldout."),
    };

    /// <summary>An "expert who shows its reasoning" system prompt (the disclosed campaigns' kind).</summary>
    public string Persona(SimulationRandom rng) => Pick("persona", rng);

    /// <summary>A chain-of-thought elicitation template.</summary>
    public string Elicitation(SimulationRandom rng) => Pick("elicitation", rng);

    /// <summary>A system prompt asking for derivations in words outside the detector's lexicon.</summary>
    public string PlainPersona(SimulationRandom rng) => Pick("plain-persona", rng);

    /// <summary>A long reasoning ask in words outside the detector's lexicon.</summary>
    public string PlainReasoning(SimulationRandom rng) => Pick("reasoning", rng);

    /// <summary>A short-answer (label, yes/no, category) ask.</summary>
    public string ShortAnswer(SimulationRandom rng) => Pick("short-answer", rng);

    public string SupportSystem(SimulationRandom rng) => Pick("support-system", rng);

    public string SupportTurn(SimulationRandom rng) => Pick("support-turn", rng);

    /// <summary>A class assignment with {0} course, {1} number and {{0}}/{{1}} concept slots.</summary>
    public string Assignment(SimulationRandom rng) => Pick("assignment", rng);

    public string HumanAsk(SimulationRandom rng) => Pick("human", rng);

    /// <summary>Every template of one kind as this source has it (before any WordNet rewrite), for tests and docs.</summary>
    public IReadOnlyList<string> All(string kind) => _sets[kind];

    private string Pick(string kind, SimulationRandom rng)
    {
        var template = rng.Pick(_sets[kind]);
        return Source == PhrasingSource.WordNet ? WordNetRewriter.Shared.Rewrite(template, rng) : template;
    }

    private static Dictionary<string, string[]> SimulatorSet() => new(StringComparer.Ordinal)
    {
        ["persona"] = AttackPrompts.ExpertPersonas,
        ["elicitation"] = AttackPrompts.ElicitationTemplates,
        ["plain-persona"] = PlainPrompts.Personas,
        ["reasoning"] = PlainPrompts.Reasoning,
        ["short-answer"] = PlainPrompts.ShortAnswers,
        ["support-system"] = PlainPrompts.SupportSystems,
        ["support-turn"] = PlainPrompts.SupportTurns,
        ["assignment"] = StudentCohort.Assignments,
        ["human"] = PlainPrompts.HumanAsks,
    };

    /// <summary>The held-out file's sections; the harvesters' personas and asks serve both the lexicon and the plain kinds.</summary>
    private static Dictionary<string, string[]> HeldOutSet()
    {
        var sections = ReadSections(typeof(Phrasings).Assembly, "DistillGuard.Lab.Simulation.HeldOut.templates.txt");
        return new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["persona"] = sections["persona"],
            ["elicitation"] = sections["reasoning"],
            ["plain-persona"] = sections["persona"],
            ["reasoning"] = sections["reasoning"],
            ["short-answer"] = sections["short-answer"],
            ["support-system"] = sections["support-system"],
            ["support-turn"] = sections["support-turn"],
            ["assignment"] = sections["assignment"],
            ["human"] = sections["human"],
        };
    }

    internal static Dictionary<string, string[]> ReadSections(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"Embedded resource {resource} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                sections[line[3..].Trim()] = current = [];
            }
            else if (line.Length > 0 && !line.StartsWith('#'))
            {
                (current ?? throw new InvalidDataException($"{resource}: a template before the first section.")).Add(line.Trim());
            }
        }

        return sections.ToDictionary(s => s.Key, s => s.Value.ToArray(), StringComparer.Ordinal);
    }
}

/// <summary>
/// Rewrites a template through WordNet synonyms (Resources/wordnet-synonyms.tsv.gz, see PROVENANCE.md) and reorders
/// its sentences and leading clauses, keeping its slots: a second phrasing of the same request made by a machine, as a
/// paraphrasing client would make it once and then reuse.
/// </summary>
internal sealed partial class WordNetRewriter
{
    private static readonly Lazy<WordNetRewriter> s_shared = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Dictionary<string, string[]> _synonyms;

    private WordNetRewriter(Dictionary<string, string[]> synonyms) => _synonyms = synonyms;

    public static WordNetRewriter Shared => s_shared.Value;

    /// <summary>Words with synonyms in the table.</summary>
    public int Count => _synonyms.Count;

    /// <summary>
    /// Half the words with synonyms are swapped for one; a leading "Before …," clause moves to the end of its sentence;
    /// sentences after the first are shuffled (the first usually carries the slot the others refer to).
    /// </summary>
    public string Rewrite(string template, SimulationRandom rng)
    {
        var sentences = SentenceBreak().Split(template).Where(s => s.Length > 0).ToList();
        for (var i = 0; i < sentences.Count; i++)
        {
            if (LeadingClause().Match(sentences[i]) is { Success: true } m && rng.Chance(0.7))
            {
                var main = m.Groups["main"].Value;
                sentences[i] = char.ToUpperInvariant(main[0]) + main[1..] + " " + char.ToLowerInvariant(m.Groups["lead"].Value[0]) + m.Groups["lead"].Value[1..] + m.Groups["end"].Value;
            }
        }

        for (var i = sentences.Count - 1; i > 1; i--)
        {
            var j = 1 + rng.Next(i);
            (sentences[i], sentences[j]) = (sentences[j], sentences[i]);
        }

        var text = string.Join(' ', sentences);
        // Words outside slots only: "{lemma}" and "{{0}}" stay as they are.
        return Word().Replace(text, m =>
        {
            var word = m.Value;
            if (!_synonyms.TryGetValue(word.ToLowerInvariant(), out var synonyms) || !rng.Chance(0.5))
            {
                return word;
            }

            var synonym = rng.Pick(synonyms);
            return char.IsUpper(word[0]) ? char.ToUpperInvariant(synonym[0]) + synonym[1..] : synonym;
        });
    }

    private static WordNetRewriter Load()
    {
        const string Resource = "DistillGuard.Lab.Resources.wordnet-synonyms.tsv.gz";
        using var stream = typeof(WordNetRewriter).Assembly.GetManifestResourceStream(Resource) ?? throw new InvalidOperationException($"Embedded resource {Resource} is missing.");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var synonyms = new Dictionary<string, string[]>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            var tab = line.IndexOf('\t');
            if (tab > 0)
            {
                synonyms[line[..tab]] = line[(tab + 1)..].Split('|');
            }
        }

        return new WordNetRewriter(synonyms);
    }

    [GeneratedRegex(@"(?<=[.?!])\s+")]
    private static partial Regex SentenceBreak();

    [GeneratedRegex(@"^(?<lead>Before [^,{}]+), (?<main>[^{}]+?)(?<end>[.?!])$")]
    private static partial Regex LeadingClause();

    [GeneratedRegex(@"(?<![{\w])[A-Za-z]{4,}(?![}\w])")]
    private static partial Regex Word();
}
