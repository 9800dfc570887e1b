using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>Decides which watermark (if any) one request's answer carries: the seam through which the policy engine raises strength per account.</summary>
/// <remarks>Called once per request; the returned processor must be safe to share between concurrent requests.</remarks>
public interface IWatermarkPolicy
{
    /// <summary>The sampler hook for a request by <paramref name="accountId"/> (null when unauthenticated), or null for no watermark.</summary>
    ILogitsProcessor? ProcessorFor(string? accountId);
}

/// <summary>The default policy: the configured scheme and strength for everyone, the account's payload bucket when tracing is on.</summary>
internal sealed class ConfiguredWatermarkPolicy : IWatermarkPolicy
{
    private readonly WatermarkKey _key;
    private readonly WatermarkParameters _parameters;
    private readonly ILogitsProcessor?[] _byBucket;

    public ConfiguredWatermarkPolicy(WatermarkOptions options, WatermarkKeyring keyring)
    {
        _key = keyring.Current;
        _parameters = WatermarkSetup.Parameters(options);
        _byBucket = new ILogitsProcessor?[_parameters.PayloadBuckets];
        if (options.Enabled)
        {
            for (var bucket = 0; bucket < _byBucket.Length; bucket++)
            {
                _byBucket[bucket] = WatermarkProcessors.Create(_key, _parameters, bucket);
            }
        }
    }

    public ILogitsProcessor? ProcessorFor(string? accountId) =>
        _byBucket[accountId is null ? 0 : AccountBuckets.Of(_key, accountId, _byBucket.Length)];

}
