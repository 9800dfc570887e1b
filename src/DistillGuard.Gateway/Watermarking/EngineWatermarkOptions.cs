using System.Globalization;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>The watermark an upstream engine puts on its own output (vLLM's <c>--watermark-config</c>), so that <c>detect</c> can test for it.</summary>
/// <remarks>
/// The fields mirror vLLM's <c>WatermarkConfig</c>. The key is never written in the config file: it is read from the
/// environment variable <see cref="KeyEnvironmentVariable"/> (a decimal integer 0 … 2⁶⁴ − 1, vLLM's <c>key</c>) and
/// never logged or returned.
/// </remarks>
public sealed class EngineWatermarkOptions
{
    /// <summary>The engine: <c>vllm</c>.</summary>
    public string Engine { get; set; } = "vllm";

    /// <summary><c>gumbel</c> (vLLM's default) or <c>dual_key_gumbel</c> (speculative decoding).</summary>
    public string Algorithm { get; set; } = "gumbel";

    /// <summary>Environment variable that holds the engine's watermark key.</summary>
    public string? KeyEnvironmentVariable { get; set; }

    /// <summary>Previous token ids the PRF reads (vLLM's default 4).</summary>
    public int ContextWidth { get; set; } = 4;

    /// <summary>The PRF: <c>philox</c> (<c>philox4x32-10-v1</c>).</summary>
    public string Prf { get; set; } = "philox";

    /// <summary>Score each context once, as vLLM's detector does by default (whatever scope the engine de-duplicated generation over).</summary>
    public bool DeduplicateContexts { get; set; } = true;

    /// <summary>The dual-key scheme's α, the probability of key B (vLLM's default 0.1).</summary>
    public double Alpha { get; set; } = 0.1;

    /// <summary>The model's Hugging Face <c>tokenizer.json</c> (or <c>.json.gz</c>); null scores with the GPT-2 tokenizer.</summary>
    public string? Tokenizer { get; set; }

    /// <summary>The key from the environment, or a reason it cannot be read (the value itself never appears in the reason).</summary>
    internal bool TryResolveKey(out ulong key, out string? problem)
    {
        key = 0;
        if (KeyEnvironmentVariable is not { Length: > 0 } name)
        {
            problem = "must name the environment variable that holds the engine's watermark key";
            return false;
        }

        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(value))
        {
            problem = $"names {name}, which is not set";
            return false;
        }

        if (!ulong.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out key))
        {
            problem = $"names {name}, which does not hold a decimal integer between 0 and 18446744073709551615";
            return false;
        }

        problem = null;
        return true;
    }

    /// <summary>Every problem with these options, as (JSON path under <paramref name="at"/>, reason).</summary>
    internal IEnumerable<(string Path, string Reason)> Validate(string at)
    {
        if (Engine != "vllm")
        {
            yield return ($"{at}.engine", $"must be vllm, not '{Engine}'");
        }

        if (Algorithm is not ("gumbel" or "dual_key_gumbel"))
        {
            yield return ($"{at}.algorithm", $"must be gumbel or dual_key_gumbel, not '{Algorithm}'");
        }

        if (Prf != "philox")
        {
            yield return ($"{at}.prf", $"must be philox, not '{Prf}'");
        }

        if (ContextWidth is < 1 or > 64)
        {
            yield return ($"{at}.contextWidth", "must be between 1 and 64");
        }

        if (!(Alpha >= 0 && Alpha <= 1))
        {
            yield return ($"{at}.alpha", "must be between 0 and 1");
        }

        if (!TryResolveKey(out _, out var problem))
        {
            yield return ($"{at}.keyEnvironmentVariable", problem!);
        }

        if (Tokenizer is not null && !File.Exists(Tokenizer))
        {
            yield return ($"{at}.tokenizer", $"'{Tokenizer}' is not a readable file");
        }
    }
}
