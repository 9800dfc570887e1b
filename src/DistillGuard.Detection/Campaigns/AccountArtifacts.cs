using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DistillGuard.Detection.Sketches;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Campaigns;

/// <summary>What one account shares with the world: identity, network prefix, client, its most frequent templates and when it used them.</summary>
/// <remarks>Fixed size whatever the volume: templates and client fingerprints are kept in four-slot space-saving summaries, activity in a 32-entry ring. Not thread-safe.</remarks>
internal sealed class AccountArtifacts(string accountId)
{
    /// <summary>Distinct ⟨template, time bucket⟩ actions remembered, most recent last: a day of ten-minute buckets at the rate a thin fleet account sends.</summary>
    public const int ActionSlots = 32;

    private readonly TopKeys _templates = new();
    private readonly TopKeys _clients = new();
    private readonly ulong[] _actionTemplates = new ulong[ActionSlots];
    private readonly long[] _actionBuckets = new long[ActionSlots];
    private int _actions;

    public string AccountId { get; } = accountId;

    public CampaignIdentity? Identity { get; set; }

    /// <summary>The account's node in the linker's union-find (-1 until linked once).</summary>
    public int Node { get; set; } = -1;

    /// <summary>The link keys this account is indexed under (the linker only adds to it between full rebuilds).</summary>
    public HashSet<LinkKey> Indexed { get; } = [];

    /// <summary>The last client network prefix seen ("a.b.c.0/24" or an IPv6 /48), or null.</summary>
    public string? Network { get; private set; }

    public string? UserAgent { get; private set; }

    /// <summary>Requests with prompt text.</summary>
    public long Prompts => _templates.Total;

    public DateTimeOffset LastSeen { get; private set; } = DateTimeOffset.MinValue;

    public void Observe(UsageEvent e, ulong templateKey, TimeSpan bucket)
    {
        if (e.Timestamp > LastSeen)
        {
            LastSeen = e.Timestamp;
        }

        if (NetworkOf(e.ClientAddress) is { } network)
        {
            Network = network;
        }

        if (!string.IsNullOrEmpty(e.UserAgent))
        {
            UserAgent = e.UserAgent;
        }

        _clients.Add(ClientFingerprint(e));
        if (templateKey == 0)
        {
            return;
        }

        _templates.Add(templateKey);
        var b = e.Timestamp.UtcTicks / bucket.Ticks;
        for (var i = 0; i < Math.Min(_actions, ActionSlots); i++)
        {
            if (_actionBuckets[i] == b && _actionTemplates[i] == templateKey)
            {
                return;
            }
        }

        var slot = _actions % ActionSlots;
        _actionTemplates[slot] = templateKey;
        _actionBuckets[slot] = b;
        _actions++;
    }

    /// <summary>The template behind at least <paramref name="share"/> of the prompts (and <paramref name="minRequests"/>), or 0.</summary>
    public ulong DominantTemplate(double share, int minRequests) => _templates.Dominant(share, minRequests);

    /// <summary>The client fingerprint (user agent and request-field signature) behind at least half the requests, or 0.</summary>
    public ulong DominantClient(int minRequests) => _clients.Dominant(0.5, minRequests);

    /// <summary>The remembered time buckets in which the account sent <paramref name="template"/>, ascending.</summary>
    public long[] BucketsOf(ulong template)
    {
        var buckets = new List<long>(ActionSlots);
        for (var i = 0; i < Math.Min(_actions, ActionSlots); i++)
        {
            if (_actionTemplates[i] == template)
            {
                buckets.Add(_actionBuckets[i]);
            }
        }

        buckets.Sort();
        return [.. buckets];
    }

    /// <summary>
    /// Which client sent a request and how: the user agent and the set of optional request fields it sets (sampling
    /// settings, logprobs and their width, n, seed, stop, stream). An SDK's defaults are shared by millions and an
    /// application's call site by its users, so this only ever links in conjunction with a network and a sign-up burst,
    /// or with synchronised activity.
    /// </summary>
    internal static ulong ClientFingerprint(UsageEvent e)
    {
        var fields = (e.Temperature is null ? 0 : 1) | (e.TopP is null ? 0 : 2) | (e.MaxTokens is null ? 0 : 4) | (e.N > 1 ? 8 : 0)
            | (e.Logprobs ? 16 : 0) | (e.Seed is null ? 0 : 32) | (e.StopCount > 0 ? 64 : 0) | (e.Stream ? 128 : 0);
        var signature = ((ulong)fields << 8) | (uint)Math.Clamp(e.TopLogprobs ?? 0, 0, 255);
        var agent = e.UserAgent is { Length: > 0 } ua ? System.IO.Hashing.XxHash64.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ua.AsSpan())) : 0;
        return HashMix.Mix(agent ^ HashMix.Mix(signature + 1)) | 1;
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

    /// <summary>A four-slot space-saving summary of the most frequent keys (Metwally et al. 2005): counts are upper bounds.</summary>
    private sealed class TopKeys
    {
        private const int Slots = 4;
        private readonly ulong[] _keys = new ulong[Slots];
        private readonly long[] _counts = new long[Slots];

        public long Total { get; private set; }

        public void Add(ulong key)
        {
            Total++;
            var smallest = 0;
            for (var i = 0; i < Slots; i++)
            {
                if (_counts[i] > 0 && _keys[i] == key)
                {
                    _counts[i]++;
                    return;
                }

                if (_counts[i] < _counts[smallest])
                {
                    smallest = i;
                }
            }

            // A new key takes the smallest slot and inherits its count.
            _keys[smallest] = key;
            _counts[smallest]++;
        }

        public ulong Dominant(double share, int minRequests)
        {
            var best = 0;
            for (var i = 1; i < Slots; i++)
            {
                if (_counts[i] > _counts[best])
                {
                    best = i;
                }
            }

            return _counts[best] >= minRequests && _counts[best] >= share * Total ? _keys[best] : 0;
        }
    }
}
