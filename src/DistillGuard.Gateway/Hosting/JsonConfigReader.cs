using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DistillGuard.Gateway.Hosting;

/// <summary>A JSON file that cannot be used, with the file, the line and the reason in its message.</summary>
public sealed class JsonConfigException(string message) : Exception(message);

/// <summary>Reads a JSON settings file into its options type and validates it, naming the line of each problem.</summary>
internal static class JsonConfigReader
{
    /// <summary>Parses and validates; throws <see cref="JsonConfigException"/> as <c>source:line: path: reason</c>.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> json, string source, JsonTypeInfo<T> typeInfo, Func<T, IEnumerable<(string Path, string Reason)>> validate)
        where T : class
    {
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(json, typeInfo);
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } l ? l + 1 : 0;
            var where = e.Path is { Length: > 1 } p ? $" at {p}" : "";
            throw new JsonConfigException($"{source}:{line}: {Describe(e)}{where}");
        }

        if (value is null)
        {
            throw new JsonConfigException($"{source}:1: the file must hold a JSON object");
        }

        var lines = JsonLineIndex.Build(json);
        foreach (var (pathInFile, reason) in validate(value))
        {
            throw new JsonConfigException($"{source}:{lines.LineOf(pathInFile)}: {pathInFile}: {reason}");
        }

        return value;
    }

    /// <summary>Reads <paramref name="path"/> and parses it; an unreadable file is a <see cref="JsonConfigException"/> too.</summary>
    public static T Load<T>(string path, JsonTypeInfo<T> typeInfo, Func<T, IEnumerable<(string Path, string Reason)>> validate)
        where T : class
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JsonConfigException($"{path}: cannot read the file: {e.Message}");
        }

        return Parse(bytes, path, typeInfo, validate);
    }

    private static string Describe(JsonException e)
    {
        // System.Text.Json's messages carry their own position suffix; keep the reason only.
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>Maps JSON paths (<c>$.a.b[2].c</c>) to the 1-based line where their value starts.</summary>
internal sealed class JsonLineIndex
{
    private readonly Dictionary<string, int> _lines = new(StringComparer.OrdinalIgnoreCase);

    public static JsonLineIndex Build(ReadOnlySpan<byte> json)
    {
        var index = new JsonLineIndex();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var path = new List<(string Name, int ArrayIndex, bool IsArray)>();
        string? pendingProperty = null;
        try
        {
            while (reader.Read())
            {
                var line = LineAt(json, (int)reader.TokenStartIndex);
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        pendingProperty = reader.GetString();
                        index._lines[Render(path, pendingProperty)] = line;
                        break;
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        var name = NextSegment(path, ref pendingProperty, index, line);
                        path.Add((name, -1, reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        if (path.Count > 0)
                        {
                            path.RemoveAt(path.Count - 1);
                        }

                        break;
                    default:
                        NextSegment(path, ref pendingProperty, index, line);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // The deserializer already accepted the document; a partial index only loses line precision.
        }

        return index;
    }

    public int LineOf(string path)
    {
        var probe = path;
        while (probe.Length > 1)
        {
            if (_lines.TryGetValue(probe, out var line))
            {
                return line;
            }

            var cut = Math.Max(probe.LastIndexOf('.'), probe.LastIndexOf('['));
            if (cut <= 0)
            {
                break;
            }

            probe = probe[..cut];
        }

        return 1;
    }

    private static string NextSegment(List<(string Name, int ArrayIndex, bool IsArray)> path, ref string? pendingProperty, JsonLineIndex index, int line)
    {
        if (pendingProperty is not null)
        {
            var name = "." + pendingProperty;
            pendingProperty = null;
            return name;
        }

        if (path.Count > 0 && path[^1].IsArray)
        {
            var parent = path[^1];
            path[^1] = (parent.Name, parent.ArrayIndex + 1, true);
            var segment = $"[{parent.ArrayIndex + 1}]";
            index._lines[Render(path, null) + segment] = line;
            return segment;
        }

        return "";
    }

    private static string Render(List<(string Name, int ArrayIndex, bool IsArray)> path, string? property)
    {
        var builder = new StringBuilder("$");
        foreach (var (name, _, _) in path)
        {
            builder.Append(name);
        }

        if (property is not null)
        {
            builder.Append('.').Append(property);
        }

        return builder.ToString();
    }

    private static int LineAt(ReadOnlySpan<byte> json, int offset) => json[..Math.Min(offset, json.Length)].Count((byte)'\n') + 1;
}
