using System.Text.Json;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.ThreatIntel.Matching;

/// <summary>An indicator a partner shared, as the matcher uses it.</summary>
/// <param name="Partner">The partner it came from (our name for it).</param>
/// <param name="Trust"><c>low</c>, <c>medium</c> or <c>high</c>: our trust in that partner.</param>
public sealed record ImportedIndicator(string Id, string Name, string Partner, string Trust, int Confidence, DateTimeOffset ValidFrom, DateTimeOffset? ValidUntil, DistillationIndicatorContent Content);

/// <summary>The partners' indicators under our sharing key, indexed by artifact hash.</summary>
/// <remarks>Immutable; rebuild it when indicators are imported.</remarks>
public sealed class IndicatorLibrary
{
    private readonly Dictionary<string, List<int>> _templates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> _networks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> _clients = new(StringComparer.Ordinal);

    public IndicatorLibrary(IEnumerable<ImportedIndicator> indicators, string sharingKeyId)
    {
        ArgumentNullException.ThrowIfNull(indicators);
        // Indicators under another group's key cannot match anything here: their hashes are of other keys.
        Indicators = [.. indicators.Where(i => i.Content.SharingKeyId == sharingKeyId)];
        for (var i = 0; i < Indicators.Count; i++)
        {
            Index(_templates, Indicators[i].Content.TemplateHashes, i);
            Index(_networks, Indicators[i].Content.NetworkHashes, i);
            Index(_clients, Indicators[i].Content.ClientHashes, i);
        }
    }

    public static IndicatorLibrary Empty { get; } = new([], "");

    public IReadOnlyList<ImportedIndicator> Indicators { get; }

    public int Count => Indicators.Count;

    internal IReadOnlyList<int> ByTemplate(string hash) => _templates.TryGetValue(hash, out var list) ? list : [];

    internal IReadOnlyList<int> ByNetwork(string hash) => _networks.TryGetValue(hash, out var list) ? list : [];

    internal IReadOnlyList<int> ByClient(string hash) => _clients.TryGetValue(hash, out var list) ? list : [];

    /// <summary>The distillation content of one of our indicators; throws <see cref="StixFormatException"/> when it lacks or breaks it.</summary>
    public static DistillationIndicatorContent ContentOf(StixIndicator indicator)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        if (indicator.Extensions?.TryGetValue(DistillationExtension.Id, out var element) != true)
        {
            throw new StixFormatException($"{indicator.Id}: pattern_type {DistillationExtension.PatternType} needs the extension {DistillationExtension.Id}");
        }

        DistillationIndicatorContent content;
        try
        {
            content = element.Deserialize(StixJsonContext.Default.DistillationIndicatorContent)
                ?? throw new StixFormatException($"{indicator.Id}: empty extension");
        }
        catch (JsonException e)
        {
            throw new StixFormatException($"{indicator.Id}: malformed extension: {e.Message}", e);
        }

        foreach (var list in new[] { content.TemplateHashes, content.NetworkHashes, content.ClientHashes, content.PaymentHashes })
        {
            if (list is not null && !list.All(IsHash))
            {
                throw new StixFormatException($"{indicator.Id}: artifact hashes are 32 lowercase hex digits");
            }
        }

        if (content.TemplateMinhash is { Count: not 64 })
        {
            throw new StixFormatException($"{indicator.Id}: template_minhash has 64 slots");
        }

        return content;
    }

    /// <summary>An imported indicator from its JSON, or null when it is not one of ours (another pattern type).</summary>
    public static ImportedIndicator? Read(JsonElement json, string partner, string trust)
    {
        if (json.GetPropertyOrEmpty("type") != "indicator" || json.GetPropertyOrEmpty("pattern_type") != DistillationExtension.PatternType)
        {
            return null;
        }

        var indicator = StixJson.ReadIndicator(json);
        return new ImportedIndicator(indicator.Id, indicator.Name ?? indicator.Id, partner, trust, indicator.Confidence ?? 50, indicator.ValidFrom, indicator.ValidUntil, ContentOf(indicator));
    }

    private static bool IsHash(string h) => h.Length == 32 && h.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static void Index(Dictionary<string, List<int>> index, IReadOnlyList<string>? hashes, int i)
    {
        foreach (var h in hashes ?? [])
        {
            if (!index.TryGetValue(h, out var list))
            {
                index[h] = list = [];
            }

            list.Add(i);
        }
    }
}
