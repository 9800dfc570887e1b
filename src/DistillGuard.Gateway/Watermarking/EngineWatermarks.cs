using DistillGuard.Gateway.Hosting;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Engines;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>One upstream's engine watermark: its detector and the model's tokenizer.</summary>
internal sealed class EngineScheme
{
    private readonly Lazy<Func<string, int[]>> _tokenizer;

    public EngineScheme(string upstream, EngineWatermarkOptions options, ulong key)
    {
        Upstream = upstream;
        Detector = new VllmGumbelDetector(key, options.ContextWidth, options.DeduplicateContexts, options.Algorithm == "dual_key_gumbel" ? options.Alpha : null);
        TokenizerName = options.Tokenizer is null ? "gpt2" : Path.GetFileName(options.Tokenizer);

        // The tokenizer file is read once, on the first detection that needs it (a large vocabulary takes seconds).
        var path = options.Tokenizer;
        _tokenizer = new Lazy<Func<string, int[]>>(
            () =>
            {
                if (path is null)
                {
                    var gpt2 = TextTokenizer.Gpt2;
                    return gpt2.Encode;
                }

                var tokenizer = HuggingFaceTokenizer.Load(path);
                return tokenizer.Encode;
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Upstream { get; }

    public VllmGumbelDetector Detector { get; }

    /// <summary>The tokenizer's file name (or <c>gpt2</c>), for the answer; never a path.</summary>
    public string TokenizerName { get; }

    /// <summary>Normalises and tokenizes <paramref name="text"/> with the model's tokenizer, then tests for the engine's mark.</summary>
    public WatermarkDetection Detect(string text, DetectorOptions options) =>
        Detector.Detect(_tokenizer.Value(TextNormalization.Normalize(text)), options);
}

/// <summary>The engine watermark of every upstream model that has one, by model id.</summary>
internal sealed class EngineWatermarks
{
    private readonly Dictionary<string, EngineScheme> _byModel = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _unmarked = new(StringComparer.Ordinal);

    /// <summary>Builds the schemes of <paramref name="options"/>' upstreams (the config was validated, so every key resolves).</summary>
    public EngineWatermarks(GatewayOptions options)
    {
        foreach (var upstream in options.Upstreams)
        {
            if (upstream.Watermark is { } watermark && watermark.TryResolveKey(out var key, out _))
            {
                var scheme = new EngineScheme(upstream.Name, watermark, key);
                foreach (var model in upstream.Models)
                {
                    _byModel[model] = scheme;
                }
            }
            else
            {
                foreach (var model in upstream.Models)
                {
                    _unmarked[model] = upstream.Name;
                }
            }
        }
    }

    /// <summary>The scheme of <paramref name="model"/>; false with the upstream's name when the model is relayed unmarked, false with null when no upstream serves it.</summary>
    public bool TryGet(string model, out EngineScheme? scheme, out string? unmarkedUpstream)
    {
        unmarkedUpstream = _unmarked.GetValueOrDefault(model);
        return _byModel.TryGetValue(model, out scheme);
    }
}
