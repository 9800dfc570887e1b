namespace DistillGuard.Watermarking.Keys;

/// <summary>The epoch keys in force: the current one signs new output, and detection tries the recent ones.</summary>
public sealed class WatermarkKeyring
{
    /// <summary>Derives the keys of epochs <c>currentEpoch - detectEpochs + 1 … currentEpoch</c> from <paramref name="master"/>.</summary>
    public WatermarkKeyring(WatermarkKey master, int currentEpoch = 0, int detectEpochs = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(currentEpoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(detectEpochs, 1);
        Current = master.DeriveEpoch(currentEpoch);
        var keys = new List<WatermarkKey> { Current };
        for (var epoch = currentEpoch - 1; epoch >= 0 && keys.Count < detectEpochs; epoch--)
        {
            keys.Add(master.DeriveEpoch(epoch));
        }

        DetectionKeys = keys;
    }

    /// <summary>The key that marks new output.</summary>
    public WatermarkKey Current { get; }

    /// <summary>Keys detection tries, newest first; p-values are corrected for their number.</summary>
    public IReadOnlyList<WatermarkKey> DetectionKeys { get; }
}
