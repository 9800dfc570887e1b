using System.Text;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Schemes;

/// <summary>Maps accounts to payload buckets, so a leaked corpus decodes to the bucket of the accounts that harvested it.</summary>
public static class AccountBuckets
{
    /// <summary>The bucket (0 … <paramref name="buckets"/> − 1) of <paramref name="accountId"/>: a keyed hash, so outsiders cannot pick one.</summary>
    public static int Of(WatermarkKey key, string accountId, int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        return buckets == 1 ? 0 : (int)(key.Hash((byte)'B', Encoding.UTF8.GetBytes(accountId)) % (ulong)buckets);
    }
}
