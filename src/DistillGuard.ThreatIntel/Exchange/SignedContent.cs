using System.Text.Json;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Matching;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.ThreatIntel.Exchange;

/// <summary>Content a partner sent that we refuse: unsigned, badly signed, or malformed STIX. Nothing of it is imported.</summary>
public sealed class IntelRejectedException : Exception
{
    public IntelRejectedException(string code, string message)
        : base(message) => Code = code;

    public IntelRejectedException()
    {
        Code = "rejected";
    }

    public IntelRejectedException(string message, Exception inner)
        : base(message, inner) => Code = "rejected";

    /// <summary><c>unsigned</c>, <c>bad_signature</c>, <c>unknown_key</c> or <c>malformed_stix</c>.</summary>
    public string Code { get; }
}

/// <summary>One STIX object ready to store: its id, type, version (normalised modified or created) and JSON.</summary>
public sealed record ImportedObject(string Id, string Type, string Version, string Json);

/// <summary>Verifies and validates what partners send: a signed bundle file, a TAXII envelope posted to us or paged from a partner.</summary>
public static class SignedContent
{
    /// <summary>
    /// Checks the detached signature over the canonical form of <paramref name="json"/>, then every object's MUSTs, and
    /// returns the objects; throws <see cref="IntelRejectedException"/> (all or nothing) otherwise.
    /// </summary>
    /// <param name="container"><c>bundle</c> (a STIX bundle) or <c>envelope</c> (a TAXII envelope: <c>{"objects": [...]}</c>).</param>
    public static IReadOnlyList<ImportedObject> Verify(ReadOnlySpan<byte> json, string? signature, VerificationKey? key, string container)
    {
        if (string.IsNullOrWhiteSpace(signature))
        {
            throw new IntelRejectedException("unsigned", "The content carries no detached signature; unsigned content is never imported.");
        }

        if (key is null)
        {
            throw new IntelRejectedException("unknown_key", $"No public key is registered for the signer (key id '{DetachedSignature.KeyIdOf(signature) ?? "unreadable"}').");
        }

        byte[] canonical;
        try
        {
            canonical = CanonicalJson.Serialize(json);
        }
        catch (JsonException e)
        {
            throw new IntelRejectedException("malformed_stix", $"The content is not JSON: {e.Message}");
        }

        if (!key.Verify(canonical, signature))
        {
            throw new IntelRejectedException("bad_signature", "The detached signature does not verify against the signer's key over the canonical (RFC 8785) content.");
        }

        return Objects(canonical, container);
    }

    /// <summary>The objects of a bundle or envelope, each checked; throws <see cref="IntelRejectedException"/> on the first malformed one.</summary>
    public static IReadOnlyList<ImportedObject> Objects(ReadOnlySpan<byte> json, string container)
    {
        try
        {
            IReadOnlyList<JsonElement> elements;
            if (container == "bundle")
            {
                elements = StixJson.ParseBundle(json).Objects;
            }
            else
            {
                // An envelope with nothing to give (the last page) has no "objects" at all (TAXII 2.1 §3.7).
                using var document = JsonDocument.Parse(json.ToArray());
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new StixFormatException("an envelope is a JSON object");
                }

                if (!document.RootElement.TryGetProperty("objects", out var list))
                {
                    elements = [];
                }
                else if (list.ValueKind != JsonValueKind.Array)
                {
                    throw new StixFormatException("an envelope's \"objects\" is an array");
                }
                else
                {
                    elements = [.. list.EnumerateArray().Select(e => e.Clone())];
                }
            }

            var objects = new List<ImportedObject>(elements.Count);
            foreach (var o in elements)
            {
                StixValidation.CheckCommon(o);
                var type = o.GetProperty("type").GetString()!;
                if (type == "indicator" && o.GetPropertyOrEmpty("pattern_type") == DistillationExtension.PatternType)
                {
                    _ = IndicatorLibrary.ContentOf(StixJson.ReadIndicator(o));
                }

                var version = o.GetPropertyOrEmpty("modified") is { Length: > 0 } modified ? modified : o.GetPropertyOrEmpty("created");
                var normalised = version.Length > 0 ? Normalise(StixTimestampConverter.Parse(version)) : "";
                objects.Add(new ImportedObject(o.GetProperty("id").GetString()!, type, normalised, o.GetRawText()));
            }

            return objects;
        }
        catch (Exception e) when (e is StixFormatException or JsonException or InvalidOperationException or FormatException)
        {
            throw new IntelRejectedException("malformed_stix", "Malformed STIX: " + e.Message);
        }
    }

    /// <summary>A STIX/TAXII timestamp with microseconds, so that versions sort as text.</summary>
    public static string Normalise(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
