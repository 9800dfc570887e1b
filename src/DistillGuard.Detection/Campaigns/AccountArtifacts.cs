using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DistillGuard.Detection.Campaigns;

/// <summary>What one account shares with the world: identity, network prefix, client library and its most frequent templates.</summary>
/// <remarks>Fixed size whatever the volume: templates are kept in a four-slot space-saving summary. Not thread-safe.</remarks>
internal sealed class AccountArtifacts(string accountId)
{
    private const int Slots = 4;
    private readonly ulong[] _templates = new ulong[Slots];
    private readonly long[] _counts = new long[Slots];

    public string AccountId { get; } = accountId;

    public CampaignIdentity? Identity { get; set; }

    /// <summary>The last client network prefix seen ("a.b.c.0/24" or an IPv6 /48), or null.</summary>
    public string? Network { get; private set; }

    public string? UserAgent { get; private set; }

    /// <summary>Requests with prompt text.</summary>
    public long Prompts { get; private set; }

    public DateTimeOffset LastSeen { get; private set; } = DateTimeOffset.MinValue;

    public void Observe(DateTimeOffset time, string? clientAddress, string? userAgent, ulong templateKey)
    {
        if (time > LastSeen)
        {
            LastSeen = time;
        }

        if (NetworkOf(clientAddress) is { } network)
        {
            Network = network;
        }

        if (!string.IsNullOrEmpty(userAgent))
        {
            UserAgent = userAgent;
        }

        if (templateKey == 0)
        {
            return;
        }

        Prompts++;
        var smallest = 0;
        for (var i = 0; i < Slots; i++)
        {
            if (_counts[i] > 0 && _templates[i] == templateKey)
            {
                _counts[i]++;
                return;
            }

            if (_counts[i] < _counts[smallest])
            {
                smallest = i;
            }
        }

        // Space-saving (Metwally et al. 2005): a new key takes the smallest slot and inherits its count, so counts are upper bounds.
        _templates[smallest] = templateKey;
        _counts[smallest]++;
    }

    /// <summary>The template behind at least <paramref name="share"/> of the prompts (and <paramref name="minRequests"/>), or 0.</summary>
    public ulong DominantTemplate(double share, int minRequests)
    {
        var best = 0;
        for (var i = 1; i < Slots; i++)
        {
            if (_counts[i] > _counts[best])
            {
                best = i;
            }
        }

        return _counts[best] >= minRequests && _counts[best] >= share * Prompts ? _templates[best] : 0;
    }

    /// <summary>The /24 of an IPv4 address or the /48 of an IPv6 one; null when the address does not parse.</summary>
    internal static string? NetworkOf(string? address)
    {
        if (string.IsNullOrEmpty(address) || !IPAddress.TryParse(address, out var ip))
        {
            return null;
        }

        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!ip.TryWriteBytes(bytes, out var written))
        {
            return null;
        }

        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes[0]}.{bytes[1]}.{bytes[2]}.0/24");
        }

        return written == 16 ? string.Create(CultureInfo.InvariantCulture, $"{bytes[0]:x2}{bytes[1]:x2}:{bytes[2]:x2}{bytes[3]:x2}:{bytes[4]:x2}{bytes[5]:x2}::/48") : null;
    }
}
