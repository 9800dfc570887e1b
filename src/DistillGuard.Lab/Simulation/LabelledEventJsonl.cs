using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Lab.Simulation;

/// <summary>Reads and writes labelled events as JSON Lines: one <see cref="LabelledEvent"/> per line, camelCase, UTF-8.</summary>
public static class LabelledEventJsonl
{
    /// <summary>Writes every event, one per line; leaves the stream open.</summary>
    public static void Write(IEnumerable<LabelledEvent> events, Stream stream)
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true });
        foreach (var e in events)
        {
            JsonSerializer.Serialize(writer, e, LabelledEventJsonContext.Default.LabelledEvent);
            writer.Flush();
            writer.Reset();
            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>Writes every event to a file, replacing it.</summary>
    public static void Write(IEnumerable<LabelledEvent> events, string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Write(events, stream);
    }

    /// <summary>Reads events lazily, one per non-empty line; a malformed line throws <see cref="JsonException"/> naming its line number.</summary>
    public static IEnumerable<LabelledEvent> Read(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, 1 << 16, leaveOpen: true);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            LabelledEvent? e;
            try
            {
                e = JsonSerializer.Deserialize(line, LabelledEventJsonContext.Default.LabelledEvent);
            }
            catch (JsonException ex)
            {
                throw new JsonException($"Line {lineNumber} is not a labelled event: {ex.Message}", ex);
            }

            // Constructor parameters are optional to System.Text.Json (a null campaign is omitted); the essential ones are not.
            if (e?.Event is null || e.Archetype is null)
            {
                throw new JsonException($"Line {lineNumber} is not a labelled event: it lacks the event or the archetype.");
            }

            yield return e;
        }
    }

    /// <summary>Reads every event of a file lazily.</summary>
    public static IEnumerable<LabelledEvent> Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        foreach (var e in Read(stream))
        {
            yield return e;
        }
    }
}

/// <summary>Source-generated JSON metadata for the simulator's JSONL.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(LabelledEvent))]
[JsonSerializable(typeof(UsageEvent))]
[JsonSerializable(typeof(SimulatedAccount))]
internal sealed partial class LabelledEventJsonContext : JsonSerializerContext;
