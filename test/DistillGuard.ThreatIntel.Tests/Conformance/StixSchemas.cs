using System.Text.Json;
using Json.Schema;

namespace DistillGuard.ThreatIntel.Tests.Conformance;

/// <summary>The OASIS STIX 2.1 JSON schemas (copied under Conformance/stix-2.1), loaded once with their $refs resolved.</summary>
internal static class StixSchemas
{
    private const string Base = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";
    private static readonly Lazy<Dictionary<string, JsonSchema>> Schemas = new(Load);

    /// <summary>The schema a STIX object of <paramref name="type"/> (or "bundle") must satisfy.</summary>
    public static JsonSchema For(string type) => Schemas.Value[type switch
    {
        "bundle" or "marking-definition" or "extension-definition" => "common/" + type,
        "relationship" or "sighting" => "sros/" + type,
        _ => "sdos/" + type,
    }];

    /// <summary>The errors of <paramref name="instance"/> against its schema, empty when it is valid.</summary>
    public static IReadOnlyList<string> Errors(JsonElement instance, string? type = null)
    {
        type ??= instance.GetProperty("type").GetString()!;
        var result = For(type).Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return [];
        }

        return [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key} {e.Value}"))];
    }

    private static Dictionary<string, JsonSchema> Load()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Conformance", "stix-2.1", "schemas");
        var registry = new SchemaRegistry();
        var pending = Directory.GetFiles(root, "*.json", SearchOption.AllDirectories)
            .Select(f => (Key: Path.GetRelativePath(root, f).Replace('\\', '/')[..^5], Text: File.ReadAllText(f)))
            .ToList();
        var loaded = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);

        // A schema builds once the schemas it references are registered: load in rounds until nothing is left.
        while (pending.Count > 0)
        {
            var progress = false;
            Exception? last = null;
            foreach (var file in pending.ToList())
            {
                try
                {
                    var schema = JsonSchema.FromText(file.Text, new BuildOptions { SchemaRegistry = registry }, new Uri(Base + file.Key + ".json"));
                    registry.Register(schema);
                    loaded[file.Key] = schema;
                    pending.Remove(file);
                    progress = true;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    last = e;
                }
            }

            if (!progress)
            {
                throw new InvalidOperationException($"STIX schemas that do not build: {string.Join(", ", pending.Select(p => p.Key))}", last);
            }
        }

        return loaded;
    }
}
