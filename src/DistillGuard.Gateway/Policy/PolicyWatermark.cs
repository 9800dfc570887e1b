using DistillGuard.Gateway.Watermarking;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Policy.Ladder;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Gateway.Policy;

/// <summary>The watermark per account: the configured one, or a stronger green list (higher δ) for boosted accounts.</summary>
/// <remarks>
/// The boost keeps the configured γ, context width and payload buckets, so the same detector (and its tracing)
/// finds boosted text; only δ rises, which raises the green fraction per token and so the evidence per token.
/// </remarks>
internal sealed class PolicyWatermark : IWatermarkPolicy
{
    private readonly IWatermarkPolicy _configured;
    private readonly PolicyState _state;
    private readonly PolicyProvider _policy;
    private readonly WatermarkKey _key;
    private readonly WatermarkParameters _parameters;
    private readonly bool _enabled;
    // One immutable object swapped by reference: requests read it concurrently, and a reference read is atomic where
    // the 24-byte (delta, processors) struct it replaces could be torn, pairing one delta with another's processors.
    private Boosted? _boosted;

    public PolicyWatermark(IWatermarkPolicy configured, WatermarkOptions options, WatermarkKeyring keyring, PolicyState state, PolicyProvider policy)
    {
        _configured = configured;
        _state = state;
        _policy = policy;
        _key = keyring.Current;
        _parameters = WatermarkSetup.Parameters(options);
        _enabled = options.Enabled && _parameters.Scheme == WatermarkScheme.GreenList;
    }

    public ILogitsProcessor? ProcessorFor(string? accountId)
    {
        if (!_enabled || accountId is null || !_state.DecisionFor(accountId).Has(LadderAction.WatermarkBoost))
        {
            return _configured.ProcessorFor(accountId);
        }

        var delta = _policy.Current.WatermarkBoost.Delta;
        var boosted = Volatile.Read(ref _boosted);
        if (boosted is null || boosted.Delta != delta)
        {
            boosted = For(delta);
            Volatile.Write(ref _boosted, boosted);
        }

        var processors = boosted.ByBucket;
        return processors[AccountBuckets.Of(_key, accountId, processors.Length)];
    }

    /// <summary>The boosted processors of every payload bucket at <paramref name="delta"/>.</summary>
    internal Boosted For(double delta)
    {
        var parameters = _parameters with { Delta = delta };
        var byBucket = new ILogitsProcessor[parameters.PayloadBuckets];
        for (var bucket = 0; bucket < byBucket.Length; bucket++)
        {
            byBucket[bucket] = WatermarkProcessors.Create(_key, parameters, bucket);
        }

        return new Boosted(delta, byBucket);
    }

    internal sealed record Boosted(double Delta, ILogitsProcessor[] ByBucket);
}
