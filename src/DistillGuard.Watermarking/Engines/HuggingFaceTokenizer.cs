using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace DistillGuard.Watermarking.Engines;

/// <summary>A model's own byte-level BPE tokenizer, loaded from its Hugging Face <c>tokenizer.json</c> (Llama 3, Qwen 2/3, GPT-2 style).</summary>
/// <remarks>
/// <para>
/// Reads the file's BPE model (vocabulary and merges), its pre-tokenizer (a <c>Split</c> regex followed by
/// <c>ByteLevel</c> without its own regex, as Llama 3 and Qwen use, or <c>ByteLevel</c> with GPT-2's regex), its
/// normalizer (none or NFC) and its added tokens, and builds a Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/>
/// from them. Any other component is refused with a precise message rather than tokenized differently from the
/// model: detection needs the ids the model produced.
/// </para>
/// <para>Thread-safe once loaded. A <c>.gz</c> file is decompressed on the fly.</para>
/// </remarks>
public sealed class HuggingFaceTokenizer
{
    // GPT-2's pre-tokenizer regex, which ByteLevel applies when its use_regex is true (the tokenizers library's default).
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer _tokenizer;

    private HuggingFaceTokenizer(BpeTokenizer tokenizer, int vocabularySize)
    {
        _tokenizer = tokenizer;
        VocabularySize = vocabularySize;
    }

    /// <summary>One more than the largest id, added tokens included.</summary>
    public int VocabularySize { get; }

    /// <summary>Loads <paramref name="path"/> (<c>tokenizer.json</c>, or the same gzip-compressed).</summary>
    /// <exception cref="InvalidDataException">The file is not a tokenizer this loader reproduces exactly.</exception>
    public static HuggingFaceTokenizer Load(string path)
    {
        using var file = File.OpenRead(path);
        using Stream json = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            return Load(json);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Loads a <c>tokenizer.json</c> document from <paramref name="json"/>.</summary>
    /// <exception cref="InvalidDataException">The document is not a tokenizer this loader reproduces exactly.</exception>
    public static HuggingFaceTokenizer Load(Stream json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("not valid JSON: " + e.Message, e);
        }

        using (document)
        {
            var root = document.RootElement;
            var model = Property(root, "model", JsonValueKind.Object);
            var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type != "BPE")
            {
                throw new InvalidDataException($"model.type is '{type}'; only byte-level BPE tokenizers are supported");
            }

            var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
            var size = 0;
            foreach (var entry in Property(model, "vocab", JsonValueKind.Object).EnumerateObject())
            {
                var id = entry.Value.GetInt32();
                vocabulary[entry.Name] = id;
                size = Math.Max(size, id + 1);
            }

            var merges = new List<string>();
            foreach (var merge in Property(model, "merges", JsonValueKind.Array).EnumerateArray())
            {
                // Older files write "a b", newer ones ["a", "b"].
                merges.Add(merge.ValueKind == JsonValueKind.Array ? merge[0].GetString() + " " + merge[1].GetString() : merge.GetString()!);
            }

            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (var token in added.EnumerateArray())
                {
                    var id = token.GetProperty("id").GetInt32();
                    special[token.GetProperty("content").GetString()!] = id;
                    size = Math.Max(size, id + 1);
                }
            }

            var options = new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(new Regex(PreTokenizerPattern(root), RegexOptions.Compiled | RegexOptions.CultureInvariant), special),
                Normalizer = Normalization(root),
                SpecialTokens = special,
            };
            return new HuggingFaceTokenizer(BpeTokenizer.Create(options), size);
        }
    }

    /// <summary>The ids of <paramref name="text"/>, without any begin or end token added.</summary>
    public int[] Encode(string text) => [.. _tokenizer.EncodeToIds(text)];

    /// <summary>The text of <paramref name="ids"/>.</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids);

    private static JsonElement Property(JsonElement element, string name, JsonValueKind kind) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == kind
            ? value
            : throw new InvalidDataException($"'{name}' is missing or not a JSON {kind.ToString().ToLowerInvariant()}");

    private static string PreTokenizerPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("pre_tokenizer is missing; a byte-level BPE tokenizer needs one");
        }

        var steps = pre.GetProperty("type").GetString() == "Sequence" ? [.. pre.GetProperty("pretokenizers").EnumerateArray()] : new[] { pre };
        string? pattern = null;
        var byteLevel = false;
        foreach (var step in steps)
        {
            switch (step.GetProperty("type").GetString())
            {
                case "Split" when pattern is null && !byteLevel:
                    var behaviour = step.TryGetProperty("behavior", out var b) ? b.GetString() : null;
                    var invert = step.TryGetProperty("invert", out var i) && i.GetBoolean();
                    if (behaviour != "Isolated" || invert || !step.GetProperty("pattern").TryGetProperty("Regex", out var regex))
                    {
                        throw new InvalidDataException("pre_tokenizer: only an isolating, non-inverted Split by regex is supported");
                    }

                    pattern = regex.GetString();
                    break;
                case "ByteLevel" when !byteLevel:
                    byteLevel = true;
                    if (step.TryGetProperty("add_prefix_space", out var prefix) && prefix.GetBoolean())
                    {
                        throw new InvalidDataException("pre_tokenizer: ByteLevel with add_prefix_space is not supported");
                    }

                    var useRegex = !step.TryGetProperty("use_regex", out var use) || use.GetBoolean();
                    if (useRegex)
                    {
                        if (pattern is not null)
                        {
                            throw new InvalidDataException("pre_tokenizer: a Split followed by ByteLevel with its own regex is not supported");
                        }

                        pattern = Gpt2Pattern;
                    }

                    break;
                default:
                    throw new InvalidDataException($"pre_tokenizer: '{step.GetProperty("type").GetString()}' in this position is not supported");
            }
        }

        if (!byteLevel || pattern is null)
        {
            throw new InvalidDataException("pre_tokenizer: a byte-level split (ByteLevel, with or after a regex Split) is required");
        }

        return pattern;
    }

    private static Normalizer? Normalization(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var type = normalizer.GetProperty("type").GetString();
        return type == "NFC" ? new NfcNormalizer() : throw new InvalidDataException($"normalizer '{type}' is not supported (none or NFC)");
    }

    private sealed class NfcNormalizer : Normalizer
    {
        public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);

        public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(NormalizationForm.FormC);
    }
}
