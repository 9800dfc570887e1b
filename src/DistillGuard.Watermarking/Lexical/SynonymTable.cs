using System.IO.Compression;

namespace DistillGuard.Watermarking.Lexical;

/// <summary>WordNet 3.1 synonym sets of common Brown-corpus words, embedded in the assembly (see Lexical/PROVENANCE.md).</summary>
public sealed class SynonymTable
{
    private static readonly Lazy<SynonymTable> Embedded = new(Load);
    private readonly Dictionary<string, string[]> _groups;
    private readonly Dictionary<string, string[]> _allSynonyms;

    private SynonymTable(Dictionary<string, string[]> groups, Dictionary<string, string[]> allSynonyms)
    {
        _groups = groups;
        _allSynonyms = allSynonyms;
    }

    /// <summary>The table shipped with DistillGuard.</summary>
    public static SynonymTable Shared => Embedded.Value;

    /// <summary>Number of words that belong to a watermark group.</summary>
    public int GroupedWords => _groups.Count;

    /// <summary>
    /// The watermark group of a lower-case word: the words whose most frequent sense is the same synset, so the
    /// groups partition the vocabulary and a choice within a group can be undone by the detector.
    /// </summary>
    public bool TryGetGroup(string word, out string[] group) => _groups.TryGetValue(word, out group!);

    /// <summary>Every WordNet synonym of a lower-case word over all its senses (what an attacker would substitute).</summary>
    public bool TryGetSynonyms(string word, out string[] synonyms) => _allSynonyms.TryGetValue(word, out synonyms!);

    private static SynonymTable Load()
    {
        using var stream = typeof(SynonymTable).Assembly.GetManifestResourceStream("DistillGuard.Watermarking.Lexical.synonyms.txt.gz")
            ?? throw new InvalidOperationException("The embedded synonym table is missing from the assembly.");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var synsets = new List<string[]>();
        var senses = new Dictionary<string, int[]>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (line.StartsWith('#'))
            {
                synsets.Add(line[(tab + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
            else
            {
                senses[line[..tab]] = Array.ConvertAll(line[(tab + 1)..].Split(','), int.Parse);
            }
        }

        var groups = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var all = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (word, ids) in senses)
        {
            var primary = ids[0];
            var members = synsets[primary].Where(w => senses.TryGetValue(w, out var s) && s[0] == primary).ToArray();
            if (members.Length >= 2)
            {
                groups[word] = members;
            }

            var synonyms = ids.SelectMany(id => synsets[id]).Where(w => w != word).Distinct(StringComparer.Ordinal).ToArray();
            if (synonyms.Length > 0)
            {
                all[word] = synonyms;
            }
        }

        return new SynonymTable(groups, all);
    }
}
