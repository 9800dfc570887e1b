using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DistillGuard.ThreatIntel.Stix;

/// <summary>Writes STIX timestamps as UTC with millisecond precision and a <c>Z</c> (STIX 2.1 §3.2 requires both for created/modified).</summary>
public sealed class StixTimestampConverter : JsonConverter<DateTimeOffset>
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Parse(reader.GetString() ?? throw new JsonException("A STIX timestamp is a string."));

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Text(value));

    /// <summary>The STIX text of <paramref name="value"/>.</summary>
    public static string Text(DateTimeOffset value) => value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>Reads an RFC 3339 timestamp that must end in <c>Z</c>.</summary>
    public static DateTimeOffset Parse(string text)
    {
        if (!text.EndsWith('Z') || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            throw new JsonException($"'{text}' is not a STIX timestamp (RFC 3339, UTC, ending in Z).");
        }

        return value;
    }
}

/// <summary>System.Text.Json metadata for the STIX model: snake_case names, nulls omitted, STIX timestamps.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(StixTimestampConverter)])]
[JsonSerializable(typeof(StixIdentity))]
[JsonSerializable(typeof(StixIndicator))]
[JsonSerializable(typeof(StixCampaign))]
[JsonSerializable(typeof(StixAttackPattern))]
[JsonSerializable(typeof(StixRelationship))]
[JsonSerializable(typeof(StixSighting))]
[JsonSerializable(typeof(StixMarkingDefinition))]
[JsonSerializable(typeof(StixExtensionDefinition))]
[JsonSerializable(typeof(StixBundle))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Indicators.DistillationIndicatorContent))]
internal sealed partial class StixJsonContext : JsonSerializerContext;

/// <summary>Converts STIX objects to and from JSON.</summary>
public static class StixJson
{
    /// <summary>The object as a JSON element (the form a bundle holds).</summary>
    public static JsonElement ToElement(StixObject value) => value switch
    {
        StixIdentity o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixIdentity),
        StixIndicator o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixIndicator),
        StixCampaign o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixCampaign),
        StixAttackPattern o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixAttackPattern),
        StixRelationship o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixRelationship),
        StixSighting o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixSighting),
        StixMarkingDefinition o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixMarkingDefinition),
        StixExtensionDefinition o => JsonSerializer.SerializeToElement(o, StixJsonContext.Default.StixExtensionDefinition),
        _ => throw new ArgumentException($"No JSON metadata for {value?.GetType().Name}.", nameof(value)),
    };

    /// <summary>A bundle of <paramref name="objects"/>.</summary>
    public static StixBundle Bundle(string id, IEnumerable<StixObject> objects) =>
        new() { Id = id, Objects = [.. objects.Select(ToElement)] };

    /// <summary>The bundle's canonical bytes (RFC 8785), which is what is signed and what is sent.</summary>
    public static byte[] Canonical(StixBundle bundle) =>
        CanonicalJson.Serialize(JsonSerializer.SerializeToElement(bundle, StixJsonContext.Default.StixBundle));

    /// <summary>Parses a bundle; throws <see cref="StixFormatException"/> when it is not one.</summary>
    public static StixBundle ParseBundle(ReadOnlySpan<byte> json)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new StixFormatException($"not JSON: {e.Message}", e);
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "bundle")
        {
            throw new StixFormatException("not a STIX bundle: the top-level object must have \"type\": \"bundle\"");
        }

        if (!root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String || !StixIdentifiers.IsValid(id.GetString()!, "bundle"))
        {
            throw new StixFormatException("the bundle has no valid \"id\" (bundle--UUID)");
        }

        var objects = new List<JsonElement>();
        if (root.TryGetProperty("objects", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                throw new StixFormatException("\"objects\" must be an array");
            }

            foreach (var o in list.EnumerateArray())
            {
                StixValidation.CheckCommon(o);
                objects.Add(o);
            }
        }

        return new StixBundle { Id = id.GetString()!, Objects = objects };
    }

    /// <summary>Reads an indicator from its JSON; throws <see cref="StixFormatException"/> when it is malformed.</summary>
    public static StixIndicator ReadIndicator(JsonElement element) => Read(element, StixJsonContext.Default.StixIndicator);

    public static StixIdentity ReadIdentity(JsonElement element) => Read(element, StixJsonContext.Default.StixIdentity);

    public static StixCampaign ReadCampaign(JsonElement element) => Read(element, StixJsonContext.Default.StixCampaign);

    public static StixSighting ReadSighting(JsonElement element) => Read(element, StixJsonContext.Default.StixSighting);

    private static T Read<T>(JsonElement element, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
    {
        try
        {
            return element.Deserialize(info) ?? throw new StixFormatException($"a {typeof(T).Name} is null");
        }
        catch (JsonException e)
        {
            throw new StixFormatException($"malformed {element.GetPropertyOrEmpty("type")} {element.GetPropertyOrEmpty("id")}: {e.Message}", e);
        }
    }

    /// <summary>A string property's value, or "" when the element is not an object or has no such string.</summary>
    public static string GetPropertyOrEmpty(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
}

/// <summary>STIX content that breaks a MUST of the specification.</summary>
public sealed class StixFormatException : Exception
{
    public StixFormatException(string message)
        : base(message)
    {
    }

    public StixFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public StixFormatException()
    {
    }
}

/// <summary>The specification's MUSTs that every object shares, checked on everything a partner sends.</summary>
public static class StixValidation
{
    /// <summary>Throws <see cref="StixFormatException"/> unless <paramref name="o"/> has a valid type, id, spec_version and timestamps.</summary>
    public static void CheckCommon(JsonElement o)
    {
        if (o.ValueKind != JsonValueKind.Object)
        {
            throw new StixFormatException("a STIX object must be a JSON object");
        }

        var type = o.GetPropertyOrEmpty("type");
        if (type.Length < 3 || !type.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
        {
            throw new StixFormatException($"invalid STIX type '{type}'");
        }

        var id = o.GetPropertyOrEmpty("id");
        if (!StixIdentifiers.IsValid(id, type))
        {
            throw new StixFormatException($"invalid id '{id}' for a {type}");
        }

        // Cyber-observables carry neither spec_version nor created/modified as a MUST; everything we read as SDO/SRO/SMO does.
        if (type is "indicator" or "campaign" or "identity" or "attack-pattern" or "relationship" or "sighting" or "extension-definition")
        {
            if (o.GetPropertyOrEmpty("spec_version") != "2.1")
            {
                throw new StixFormatException($"{id}: spec_version must be \"2.1\"");
            }

            foreach (var name in (string[])["created", "modified"])
            {
                try
                {
                    StixTimestampConverter.Parse(o.GetPropertyOrEmpty(name));
                }
                catch (JsonException)
                {
                    throw new StixFormatException($"{id}: '{name}' is missing or not a STIX timestamp");
                }
            }
        }
    }
}
