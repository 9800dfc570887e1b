using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.ThreatIntel.Indicators;

/// <summary>One flagged operator to export: a campaign, or a flagged account that belongs to none.</summary>
/// <param name="LocalId">Our campaign or account id: used only to derive a keyed STIX id, never written out.</param>
/// <param name="Score">The detector's score in [0, 1) (0.5 is the review band's edge).</param>
/// <param name="Level"><c>review</c> or <c>friction</c>.</param>
public sealed record FlaggedOperator(string LocalId, OperatorTraits Traits, double Score, string Level);

/// <summary>Who exports, for whom, and how.</summary>
public sealed class IndicatorExportOptions
{
    /// <summary>The producer's name in its identity object.</summary>
    public string ProducerName { get; init; } = "DistillGuard provider";

    /// <summary>
    /// Secret that keys our STIX ids (with <see cref="Partner"/>): ids of our campaigns stay stable across exports but cannot
    /// be traced back to an internal campaign or account id, and differ per partner when pseudonymising.
    /// </summary>
    public required byte[] IdSecret { get; init; }

    /// <summary>When set, ids (and the producer identity) are derived per partner, so two partners cannot join their feeds on our identifiers.</summary>
    public string? Partner { get; init; }

    public TlpLevel Tlp { get; init; } = TlpLevel.Amber;

    /// <summary>How long after the operator was last seen its indicator stays valid.</summary>
    public TimeSpan Validity { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Most template hashes per indicator.</summary>
    public int MaxTemplates { get; init; } = 16;

    /// <summary>A template enters the indicator only with at least this share of the operator's prompt requests.</summary>
    public double MinTemplateShare { get; init; } = 0.05;

    /// <summary>A network or client enters the indicator only with at least this share of the operator's requests.</summary>
    public double MinArtifactShare { get; init; } = 0.05;
}

/// <summary>Turns flagged operators into a STIX 2.1 bundle of indicators, campaigns, ATLAS attack-patterns, relationships and sightings.</summary>
public static class IndicatorExport
{
    /// <summary>The bundle for <paramref name="operators"/> at <paramref name="now"/> (which names the bundle only: object versions are the operators' last-seen times, so re-exporting unchanged operators yields the same objects).</summary>
    /// <remarks>
    /// The extension-definition is published beside the bundle (<see cref="DistillationExtension.Definition"/>, and in
    /// every TAXII collection), not inside it: the OASIS bundle schema lists no extension-definition among its known
    /// types, and an extension-definition satisfies both its core and its cyber-observable core, so the schema's
    /// <c>oneOf</c> refuses every bundle that carries one. A receiver needs the definition only to read the
    /// extension's meaning, which the pattern type names.
    /// </remarks>
    public static StixBundle Build(IEnumerable<FlaggedOperator> operators, SharingKey key, IndicatorExportOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(options);
        var ns = Namespace(options);
        var producer = new StixIdentity
        {
            Id = StixIdentifiers.Deterministic("identity", ns, "producer"),
            Created = Epoch,
            Modified = Epoch,
            Name = options.ProducerName,
            IdentityClass = "organization",
            Sectors = ["technology"],
        };
        var marking = Tlp.MarkingId(options.Tlp);
        string[] markings = [marking];
        var objects = new List<StixObject>
        {
            Tlp.Marking(options.Tlp),
            DistillationExtension.ProjectIdentity(),
            producer,
        };
        var techniques = Atlas.DistillationTechniques.Select(t => Atlas.AttackPattern(t, DistillationExtension.ProjectIdentityId, Epoch)).ToList();
        objects.AddRange(techniques);

        foreach (var op in operators.OrderBy(o => o.LocalId, StringComparer.Ordinal))
        {
            var traits = op.Traits;
            if (traits.Requests == 0)
            {
                continue;
            }

            var content = Content(traits, key, options);
            if (content.TemplateHashes is null && content.NetworkHashes is null && content.ClientHashes is null)
            {
                continue;
            }

            var local = Convert.ToHexStringLower(HMACSHA256.HashData(options.IdSecret, Encoding.UTF8.GetBytes("operator " + op.LocalId)));
            var campaignId = StixIdentifiers.Deterministic("campaign", ns, "campaign " + local);
            var indicatorId = StixIdentifiers.Deterministic("indicator", ns, "indicator " + key.KeyId + " " + local);
            var confidence = (int)Math.Clamp(Math.Round(100 * op.Score), 0, 100);
            var shortName = campaignId[^12..];
            objects.Add(new StixCampaign
            {
                Id = campaignId,
                Created = traits.FirstSeen,
                Modified = traits.LastSeen,
                CreatedByRef = producer.Id,
                Name = "Distillation operator " + shortName,
                Description = string.Create(CultureInfo.InvariantCulture, $"{traits.Accounts} account(s), {traits.Requests} requests, flagged at level '{op.Level}'."),
                FirstSeen = traits.FirstSeen,
                LastSeen = traits.LastSeen,
                Objective = "Harvest model outputs to train a copy (model distillation).",
                Confidence = confidence,
                ObjectMarkingRefs = markings,
            });
            objects.Add(new StixIndicator
            {
                Id = indicatorId,
                Created = traits.FirstSeen,
                Modified = traits.LastSeen,
                CreatedByRef = producer.Id,
                Name = "Distillation operator " + shortName + " fingerprint",
                IndicatorTypes = ["malicious-activity"],
                Pattern = DistillationExtension.Pattern(content),
                PatternType = DistillationExtension.PatternType,
                PatternVersion = DistillationExtension.Version,
                ValidFrom = traits.FirstSeen,
                ValidUntil = traits.LastSeen + options.Validity,
                Confidence = confidence,
                KillChainPhases = [new KillChainPhase { KillChainName = "mitre-atlas", PhaseName = "exfiltration" }],
                ObjectMarkingRefs = markings,
                Extensions = new Dictionary<string, JsonElement>
                {
                    [DistillationExtension.Id] = JsonSerializer.SerializeToElement(content, StixJsonContext.Default.DistillationIndicatorContent),
                },
            });
            objects.Add(Relationship(ns, "indicates", indicatorId, campaignId, producer.Id, markings));
            foreach (var technique in techniques)
            {
                objects.Add(Relationship(ns, "uses", campaignId, technique.Id, producer.Id, markings));
            }

            objects.Add(new StixSighting
            {
                Id = StixIdentifiers.Deterministic("sighting", ns, "sighting " + indicatorId + " " + producer.Id),
                Created = traits.FirstSeen,
                Modified = traits.LastSeen,
                CreatedByRef = producer.Id,
                SightingOfRef = indicatorId,
                FirstSeen = traits.FirstSeen,
                LastSeen = traits.LastSeen,
                Count = (int)Math.Min(999_999_999, traits.Requests),
                WhereSightedRefs = [producer.Id],
                ObjectMarkingRefs = markings,
            });
        }

        return StixJson.Bundle(StixIdentifiers.Deterministic("bundle", ns, "bundle " + StixTimestampConverter.Text(now)), objects);
    }

    /// <summary>The keyed artifacts of one operator's traits.</summary>
    public static DistillationIndicatorContent Content(OperatorTraits traits, SharingKey key, IndicatorExportOptions options)
    {
        var templates = traits.Templates
            .Where(t => t.Value >= options.MinTemplateShare * Math.Max(1, traits.PromptRequests))
            .Take(options.MaxTemplates)
            .Select(t => key.Hash(ArtifactKind.Template, t.Key))
            .ToList();
        var networks = traits.Networks.Where(n => n.Value >= options.MinArtifactShare * traits.Requests).Select(n => key.Hash(ArtifactKind.Network, n.Key)).ToList();
        var clients = traits.Clients.Where(n => n.Value >= options.MinArtifactShare * traits.Requests).Select(n => key.Hash(ArtifactKind.Client, n.Key)).ToList();
        var sketch = traits.TemplateSketch(key);
        var slots = new List<long>(sketch.Size);
        foreach (var s in sketch.Slots)
        {
            slots.Add(s);
        }

        return new DistillationIndicatorContent
        {
            SharingKeyId = key.KeyId,
            TemplateHashes = templates.Count > 0 ? templates : null,
            TemplateMinhash = sketch.IsEmpty ? null : slots,
            NetworkHashes = networks.Count > 0 ? networks : null,
            ClientHashes = clients.Count > 0 ? clients : null,
            Timing = traits.Timing(),
            Accounts = traits.Accounts,
            Requests = traits.Requests,
        };
    }

    /// <summary>Objects of one collection are "created" at an epoch of our own, so that re-exports do not mint new versions of fixed objects.</summary>
    private static readonly DateTimeOffset Epoch = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static StixRelationship Relationship(Guid ns, string type, string source, string target, string producer, string[] markings) => new()
    {
        Id = StixIdentifiers.Deterministic("relationship", ns, $"{type} {source} {target}"),
        Created = Epoch,
        Modified = Epoch,
        CreatedByRef = producer,
        RelationshipType = type,
        SourceRef = source,
        TargetRef = target,
        ObjectMarkingRefs = markings,
    };

    /// <summary>Our producer identity's id under <paramref name="idSecret"/> (per partner when pseudonymising).</summary>
    public static string ProducerIdentityId(byte[] idSecret, string? partner = null) =>
        StixIdentifiers.Deterministic("identity", Namespace(new IndicatorExportOptions { IdSecret = idSecret, Partner = partner }), "producer");

    /// <summary>The namespace of every id we mint for <see cref="IndicatorExportOptions.Partner"/>.</summary>
    public static Guid Namespace(IndicatorExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var seed = HMACSHA256.HashData(options.IdSecret, Encoding.UTF8.GetBytes("stix ids " + (options.Partner ?? "")));
        return new Guid(seed.AsSpan(0, 16));
    }
}
