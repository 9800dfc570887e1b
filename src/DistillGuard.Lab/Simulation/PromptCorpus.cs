using System.IO.Compression;
using System.Text.RegularExpressions;
using DistillGuard.LanguageModels.Corpus;

namespace DistillGuard.Lab.Simulation;

/// <summary>
/// The real public text prompts are built from: Brown corpus sentences and paragraphs, and WordNet concepts (lemma,
/// gloss, lexicographer-file topic, hypernym category) from the noun/verb taxonomy in Resources/wordnet-taxonomy.tsv.gz.
/// </summary>
/// <remarks>Loaded once per process and read-only afterwards, so concurrent readers are safe.</remarks>
internal sealed partial class PromptCorpus
{
    private static readonly Lazy<PromptCorpus> s_shared = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string[] _sentences;
    private readonly string[] _paragraphs;
    private readonly string[] _lemmas;
    private readonly string[] _glosses;
    private readonly int[] _lexfile;
    private readonly int[] _parent;
    private readonly int[][] _byLexfile;
    private readonly int[] _categories;
    private readonly Dictionary<int, int[]> _children;

    private PromptCorpus(string[] sentences, string[] paragraphs, string[] lemmas, string[] glosses, int[] lexfile, int[] parent, string[] lexfiles)
    {
        _sentences = sentences;
        _paragraphs = paragraphs;
        _lemmas = lemmas;
        _glosses = glosses;
        _lexfile = lexfile;
        _parent = parent;
        Lexfiles = lexfiles;
        _byLexfile = new int[lexfiles.Length][];
        var lists = Enumerable.Range(0, lexfiles.Length).Select(_ => new List<int>()).ToArray();
        var children = new Dictionary<int, List<int>>();
        for (var row = 0; row < lemmas.Length; row++)
        {
            if (glosses[row].Length == 0)
            {
                continue;
            }

            lists[lexfile[row]].Add(row);
            if (parent[row] >= 0)
            {
                if (!children.TryGetValue(parent[row], out var list))
                {
                    children[parent[row]] = list = [];
                }

                list.Add(row);
            }
        }

        for (var i = 0; i < lists.Length; i++)
        {
            _byLexfile[i] = [.. lists[i]];
        }

        // Categories worth sweeping: hypernyms with a handful of described children (a "subject" with sub-topics).
        _children = children.Where(kv => kv.Value.Count >= 3).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        _categories = [.. _children.Keys.Order()];
    }

    /// <summary>The process-wide corpus (about half a second to load the first time).</summary>
    public static PromptCorpus Shared => s_shared.Value;

    /// <summary>WordNet lexicographer file names (noun.animal, verb.cognition, ...): the top level of the topic taxonomy.</summary>
    public IReadOnlyList<string> Lexfiles { get; }

    /// <summary>Concepts (rows) with a gloss.</summary>
    public int ConceptCount => _lemmas.Length;

    /// <summary>Hypernym rows with at least three described hyponyms, in a fixed order.</summary>
    public IReadOnlyList<int> Categories => _categories;

    public int SentenceCount => _sentences.Length;

    public string Sentence(SimulationRandom rng) => _sentences[rng.Next(_sentences.Length)];

    /// <summary>A sentence by index (for batch jobs walking through their records in order).</summary>
    public string SentenceAt(long index) => _sentences[(int)(index % _sentences.Length)];

    public string Paragraph(SimulationRandom rng) => _paragraphs[rng.Next(_paragraphs.Length)];

    /// <summary>A random concept with a gloss.</summary>
    public int Concept(SimulationRandom rng)
    {
        while (true)
        {
            var row = rng.Next(_lemmas.Length);
            if (_glosses[row].Length > 0)
            {
                return row;
            }
        }
    }

    /// <summary>A random concept from one lexicographer file.</summary>
    public int ConceptIn(SimulationRandom rng, int lexfile)
    {
        var rows = _byLexfile[lexfile];
        return rows.Length == 0 ? Concept(rng) : rows[rng.Next(rows.Length)];
    }

    public int LexfileIndex(string name) => Array.IndexOf((string[])Lexfiles, name) is var i and >= 0 ? i : throw new ArgumentException($"No lexicographer file {name}.", nameof(name));

    public IReadOnlyList<int> ChildrenOf(int category) => _children.TryGetValue(category, out var rows) ? rows : [];

    public string Lemma(int row) => _lemmas[row];

    /// <summary>The gloss's definition (without its quoted examples).</summary>
    public string Gloss(int row) => _glosses[row];

    public int LexfileOf(int row) => _lexfile[row];

    /// <summary>The topic a row belongs to in words ("animal", "cognition").</summary>
    public string Topic(int row) => TopicName(_lexfile[row]);

    public string TopicName(int lexfile) => Lexfiles[lexfile][(Lexfiles[lexfile].IndexOf('.') + 1)..].Replace("Tops", "general", StringComparison.Ordinal);

    /// <summary>The concept's first hypernym, or the row itself at a root.</summary>
    public int Parent(int row) => _parent[row] >= 0 ? _parent[row] : row;

    private static PromptCorpus Load()
    {
        var glossLines = ReadLines(typeof(CorpusSplits).Assembly, "DistillGuard.LanguageModels.Corpus.wordnet-glosses.txt.gz").ToArray();
        var lemmas = new List<string>();
        var glosses = new List<string>();
        var lexfile = new List<int>();
        var parent = new List<int>();
        var lexfiles = new List<string>();
        var lexIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in ReadLines(typeof(PromptCorpus).Assembly, "DistillGuard.Lab.Resources.wordnet-taxonomy.tsv.gz"))
        {
            var parts = line.Split('\t');
            var glossLine = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            if (!lexIndex.TryGetValue(parts[1], out var lex))
            {
                lexIndex[parts[1]] = lex = lexfiles.Count;
                lexfiles.Add(parts[1]);
            }

            lexfile.Add(lex);
            parent.Add(int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
            var bar = parts[3].IndexOf('|');
            lemmas.Add(bar < 0 ? parts[3] : parts[3][..bar]);
            glosses.Add(glossLine < 0 ? "" : Definition(glossLines[glossLine]));
        }

        var paragraphs = CorpusSplits.TrainingBrown().Concat(CorpusSplits.HeldOutBrown())
            .Where(p => p.Length is > 80 and < 1200)
            .ToArray();
        var sentences = paragraphs
            .SelectMany(p => SentenceEnd().Split(p))
            .Select(s => s.Trim())
            .Where(s => s.Length is > 30 and < 260 && char.IsUpper(s[0]))
            .ToArray();
        return new PromptCorpus(sentences, paragraphs, [.. lemmas], [.. glosses], [.. lexfile], [.. parent], [.. lexfiles]);
    }

    private static string Definition(string gloss)
    {
        // Glosses read 'definition; "example"': prompts want the definition alone.
        var quote = gloss.IndexOf("; \"", StringComparison.Ordinal);
        return (quote < 0 ? gloss : gloss[..quote]).Trim();
    }

    private static IEnumerable<string> ReadLines(System.Reflection.Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing.");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    [GeneratedRegex(@"(?<=[.?!])\s+(?=[A-Z""])")]
    private static partial Regex SentenceEnd();
}
