using System.IO.Compression;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.LanguageModels.Corpus;

/// <summary>The embedded training corpus (Brown + WordNet glosses) and its deterministic held-out split.</summary>
/// <remarks>
/// Brown documents are sorted by id (ca01 … cr09); every tenth one (index 9, 19, …) is held out for evaluation. All
/// WordNet glosses go to training: they are short definitions, not running text, so they would make a poor test of
/// how well the model predicts prose. See Corpus/PROVENANCE.md.
/// </remarks>
public static class CorpusSplits
{
    /// <summary>Every how-many-th Brown document (by sorted id) is held out.</summary>
    public const int HeldOutEvery = 10;

    /// <summary>Paragraphs of the held-out Brown documents, one string each.</summary>
    public static IReadOnlyList<string> HeldOutBrown() => [.. BrownParagraphs(heldOut: true)];

    /// <summary>The training texts: paragraphs of the other Brown documents, then every WordNet gloss.</summary>
    public static IEnumerable<string> TrainingTexts() => BrownParagraphs(heldOut: false).Concat(ReadLines("wordnet-glosses.txt.gz"));

    /// <summary>Paragraphs of the training Brown documents only (without glosses).</summary>
    public static IEnumerable<string> TrainingBrown() => BrownParagraphs(heldOut: false);

    /// <summary>Every WordNet gloss, in file order.</summary>
    public static IEnumerable<string> Glosses() => ReadLines("wordnet-glosses.txt.gz");

    /// <summary>Per gloss (same order as <see cref="Glosses"/>): its synset's lemmas, a tab, the lemmas of its hypernyms.</summary>
    /// <remarks>Not training text: the topic index reads it to expand a prompt's words to their WordNet neighbourhood.</remarks>
    public static IEnumerable<string> Synsets() => ReadLines("wordnet-synsets.txt.gz");

    /// <summary>Tokenizes texts in parallel, keeping their order.</summary>
    public static int[][] Tokenize(IEnumerable<string> texts, TextTokenizer? tokenizer = null)
    {
        tokenizer ??= TextTokenizer.Gpt2;
        return texts.AsParallel().AsOrdered().Select(tokenizer.Encode).ToArray();
    }

    private static IEnumerable<string> BrownParagraphs(bool heldOut)
    {
        var documentIndex = -1;
        var include = false;
        foreach (var line in ReadLines("brown.txt.gz"))
        {
            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                // The file lists documents in sorted id order (prepare-corpus.py sorts them), so the index is stable.
                documentIndex++;
                include = (documentIndex % HeldOutEvery == HeldOutEvery - 1) == heldOut;
                continue;
            }

            if (include && line.Length > 0)
            {
                yield return line;
            }
        }
    }

    private static IEnumerable<string> ReadLines(string resource)
    {
        var assembly = typeof(CorpusSplits).Assembly;
        using var stream = assembly.GetManifestResourceStream("DistillGuard.LanguageModels.Corpus." + resource)
            ?? throw new InvalidOperationException($"Embedded corpus {resource} is missing from the assembly.");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }
}
