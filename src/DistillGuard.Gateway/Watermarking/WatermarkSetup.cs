using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Lexical;
using DistillGuard.Watermarking.Schemes;
using Microsoft.Extensions.DependencyInjection;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>Turns <see cref="WatermarkOptions"/> into scheme parameters, and validates them for the config file.</summary>
internal static class WatermarkSetup
{
    public static WatermarkParameters Parameters(WatermarkOptions options)
    {
        var gumbel = options.Scheme == "gumbel";
        var defaults = gumbel ? WatermarkParameters.GumbelDefaults : WatermarkParameters.GreenListDefaults;
        return defaults with
        {
            Gamma = options.Gamma,
            Delta = options.Delta,
            ContextWidth = options.ContextWidth ?? defaults.ContextWidth,
            PayloadBuckets = gumbel ? 1 : options.PayloadBuckets,
        };
    }

    /// <summary>Every problem with the <c>watermark</c> section, as (JSON path, reason).</summary>
    public static IEnumerable<(string Path, string Reason)> Validate(WatermarkOptions? options)
    {
        if (options is null)
        {
            yield return ("$.watermark", "must be an object");
            yield break;
        }

        if (options.Scheme is not ("green-list" or "gumbel"))
        {
            yield return ("$.watermark.scheme", $"must be green-list or gumbel, not '{options.Scheme}'");
            yield break;
        }

        foreach (var (property, reason) in Parameters(options).Problems())
        {
            yield return ("$.watermark." + char.ToLowerInvariant(property[0]) + property[1..], reason);
        }

        if (options.Epoch < 0)
        {
            yield return ("$.watermark.epoch", "must not be negative");
        }

        if (options.DetectEpochs is < 1 or > 1000)
        {
            yield return ("$.watermark.detectEpochs", "must be between 1 and 1000");
        }

        if (!(options.DetectionThreshold > 0 && options.DetectionThreshold < 1))
        {
            yield return ("$.watermark.detectionThreshold", "must be strictly between 0 and 1");
        }

        if (options.MinScoredTokens is < 1 or > 100_000)
        {
            yield return ("$.watermark.minScoredTokens", "must be between 1 and 100000");
        }

        if (options.EngineOptOut is not { } optOut)
        {
            yield return ("$.watermark.engineOptOut", "must be an object");
            yield break;
        }

        if (!EngineOptOutRule.IsKnown(optOut.Default))
        {
            yield return ("$.watermark.engineOptOut.default", $"must be allow, strip or refuse, not '{optOut.Default}'");
        }

        foreach (var (tier, rule) in optOut.Tiers)
        {
            if (!EngineOptOutRule.IsKnown(rule))
            {
                yield return ($"$.watermark.engineOptOut.tiers.{tier}", $"must be allow, strip or refuse, not '{rule}'");
            }
        }
    }

    /// <summary>The keyring from the master key in <paramref name="dataDirectory"/> (created on first start).</summary>
    public static WatermarkKeyring Keyring(WatermarkOptions options, string dataDirectory) =>
        new(WatermarkKeyFile.LoadOrCreate(dataDirectory), options.Epoch, options.DetectEpochs);

    /// <summary>The lexical marker for upstream answers when <see cref="WatermarkOptions.LexicalForUpstreams"/> is on (current key only).</summary>
    public static LexicalWatermark? UpstreamMark(WatermarkOptions options, IServiceProvider services) =>
        options.LexicalForUpstreams ? new LexicalWatermark([services.GetRequiredService<WatermarkKeyring>().Current]) : null;
}
