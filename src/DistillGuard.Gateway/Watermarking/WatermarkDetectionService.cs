using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Lexical;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>Runs the configured detectors on a text and combines them into one answer (the admin endpoint and <c>distillguard watermark detect</c>).</summary>
public sealed class WatermarkDetectionService
{
    private readonly TextDetector _tokens;
    private readonly LexicalWatermark? _lexical;
    private readonly WatermarkOptions _options;
    private readonly EngineWatermarks? _engines;
    private readonly string? _builtInModel;

    /// <summary>Creates the detector for <paramref name="options"/> with the keys of <paramref name="keyring"/>.</summary>
    public WatermarkDetectionService(WatermarkOptions options, WatermarkKeyring keyring)
        : this(options, keyring, null, null)
    {
    }

    /// <summary>Also detects the engine watermarks of the upstreams in <paramref name="engines"/>, picked by model.</summary>
    internal WatermarkDetectionService(WatermarkOptions options, WatermarkKeyring keyring, EngineWatermarks? engines, string? builtInModel)
    {
        _engines = engines;
        _builtInModel = builtInModel;
        _options = options;
        _tokens = new TextDetector(new TokenDetector(keyring.DetectionKeys, WatermarkSetup.Parameters(options)), TextTokenizer.Gpt2);
        _lexical = options.LexicalForUpstreams ? new LexicalWatermark(keyring.DetectionKeys) : null;
    }

    /// <summary>The detector over the master key already in <paramref name="dataDirectory"/>.</summary>
    /// <exception cref="FileNotFoundException">The data directory has no watermark key.</exception>
    public static WatermarkDetectionService ForDataDirectory(WatermarkOptions options, string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, WatermarkKeyFile.FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No watermark key in {dataDirectory} (it is created when the gateway first starts there).", path);
        }

        return new WatermarkDetectionService(options, WatermarkSetup.Keyring(options, dataDirectory));
    }

    /// <summary>
    /// Detects the scheme of <paramref name="model"/>: an upstream's engine watermark with that model's tokenizer, or
    /// (no model, or the built-in one) our own schemes as <see cref="Detect(string, bool, bool)"/> does.
    /// </summary>
    /// <exception cref="OpenAIErrorException">400: the model is unknown, has no engine watermark, or an option does not apply to its scheme.</exception>
    public WatermarkDetection Detect(string text, bool windowed, bool colour, string? model)
    {
        if (model is null || model == _builtInModel)
        {
            return Detect(text, windowed, colour);
        }

        var scheme = Resolve(_engines, model, out var problem) ?? throw OpenAIErrorException.InvalidRequest(problem!, "model", "model_not_watermarked");

        if (windowed || colour)
        {
            throw OpenAIErrorException.InvalidRequest("'windowed' and 'tokens' apply to DistillGuard's own schemes, not to an engine watermark.", windowed ? "windowed" : "tokens");
        }

        return scheme.Detect(text, Options(windowed: false, colour: false));
    }

    /// <summary>
    /// Tests <paramref name="text"/> for the engine watermark of the upstream that serves <paramref name="model"/> in
    /// <paramref name="gateway"/>'s config (<c>distillguard watermark detect --model</c>; no data directory needed).
    /// </summary>
    /// <returns>The detection, or null with <paramref name="problem"/> when the model has no engine watermark.</returns>
    public static WatermarkDetection? DetectEngine(GatewayOptions gateway, string model, string text, out string? problem)
    {
        var scheme = Resolve(new EngineWatermarks(gateway), model, out problem);
        return scheme?.Detect(text, new DetectorOptions { Threshold = gateway.Watermark.DetectionThreshold, MinScoredTokens = gateway.Watermark.MinScoredTokens });
    }

    private static EngineScheme? Resolve(EngineWatermarks? engines, string model, out string? problem)
    {
        string? unmarked = null;
        if (engines is not null && engines.TryGet(model, out var scheme, out unmarked))
        {
            problem = null;
            return scheme;
        }

        problem = unmarked is null
            ? $"The model '{model}' is not served by this gateway."
            : $"The model '{model}' is served by upstream '{unmarked}', which has no engine watermark configured.";
        return null;
    }

    private DetectorOptions Options(bool windowed, bool colour) => new()
    {
        Threshold = _options.DetectionThreshold,
        MinScoredTokens = _options.MinScoredTokens,
        Windowed = windowed,
        Colour = colour,
    };

    /// <summary>Detects with the token scheme and, when upstream marking is on, the lexical one; the better is reported, corrected for two tries.</summary>
    public WatermarkDetection Detect(string text, bool windowed, bool colour)
    {
        var options = Options(windowed, colour);
        var token = _tokens.Detect(text, options);
        if (_lexical is null)
        {
            return token;
        }

        var lexical = _lexical.Detect(text, options);
        var best = lexical.Log10PValue < token.Log10PValue && lexical.ScoredTokens >= options.MinScoredTokens ? lexical : token;
        var logP = LogProbability.Sidak(best.Log10PValue * Math.Log(10), 2);
        var watermarked = best.ScoredTokens >= options.MinScoredTokens && Math.Exp(logP) < options.Threshold;
        return best with
        {
            PValue = Math.Exp(logP),
            Log10PValue = LogProbability.ToLog10(logP),
            ConservativePValue = Math.Min(1, best.ConservativePValue * 2),
            Watermarked = watermarked,
            Verdict = best.ScoredTokens < options.MinScoredTokens ? Verdicts.TooShort : watermarked ? Verdicts.Watermarked : Verdicts.NotWatermarked,
        };
    }
}
