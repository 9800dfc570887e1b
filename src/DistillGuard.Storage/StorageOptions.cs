namespace DistillGuard.Storage;

/// <summary>Options for the SQLite storage opened by <see cref="SqliteStorage.Open"/>.</summary>
public sealed class StorageOptions
{
    /// <summary>Secret key for the HMAC-SHA256 of payment fingerprints; at least 16 bytes. Null disables payment fingerprints.</summary>
    /// <remarks>Security: the gateway keeps this key in its data directory; it never reaches a log.</remarks>
    public byte[]? PaymentFingerprintKey { get; set; }

    /// <summary>How long a connection waits for a lock held by another connection before failing; default 5 seconds.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (PaymentFingerprintKey is { Length: < 16 } key)
        {
            throw new ArgumentException(
                $"StorageOptions.PaymentFingerprintKey must be at least 16 bytes; got {key.Length}.", nameof(PaymentFingerprintKey));
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException(
                $"StorageOptions.BusyTimeout must be between 0 and 10 minutes; got {BusyTimeout}.", nameof(BusyTimeout));
        }
    }
}
