using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DistillGuard.Gateway.Hosting;

/// <summary>A config file that cannot be used, with the line and the reason.</summary>
public sealed class GatewayConfigException(string message) : Exception(message);

/// <summary>Reads and validates the JSON config file of <c>distillguard serve</c>.</summary>
public static class GatewayConfigFile
{
    /// <summary>Loads <paramref name="path"/>; throws <see cref="GatewayConfigException"/> naming the line and the reason.</summary>
    public static GatewayOptions Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigException($"{path}: cannot read the config file: {e.Message}");
        }

        return Parse(bytes, path);
    }

    /// <summary>Parses and validates config JSON; <paramref name="source"/> names it in errors.</summary>
    public static GatewayOptions Parse(ReadOnlySpan<byte> json, string source)
    {
        GatewayOptions? options;
        try
        {
            options = JsonSerializer.Deserialize(json, GatewayConfigJsonContext.Default.GatewayOptions);
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } l ? l + 1 : 0;
            var where = e.Path is { Length: > 1 } p ? $" at {p}" : "";
            throw new GatewayConfigException($"{source}:{line}: {Describe(e)}{where}");
        }

        if (options is null)
        {
            throw new GatewayConfigException($"{source}:1: the config file must hold a JSON object");
        }

        var lines = JsonLineIndex.Build(json);
        foreach (var (pathInFile, reason) in Validate(options))
        {
            throw new GatewayConfigException($"{source}:{lines.LineOf(pathInFile)}: {pathInFile}: {reason}");
        }

        return options;
    }

    /// <summary>Every problem with <paramref name="options"/>, as (JSON path, reason).</summary>
    public static IEnumerable<(string Path, string Reason)> Validate(GatewayOptions options)
    {
        foreach (var problem in Watermarking.WatermarkSetup.Validate(options.Watermark))
        {
            yield return problem;
        }

        if (options.Port is < 0 or > 65_535)
        {
            yield return ("$.port", $"must be between 0 and 65535, not {options.Port}");
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            yield return ("$.dataDirectory", "must name a directory");
        }

        if (string.IsNullOrWhiteSpace(options.Host))
        {
            yield return ("$.host", "must name an interface (localhost, an IP address or *)");
        }

        var limits = options.Limits;
        if (limits.MaxRequestBodyBytes is < 1024 or > 1L << 30)
        {
            yield return ("$.limits.maxRequestBodyBytes", "must be between 1024 and 1073741824");
        }

        if (limits.MaxCompletionTokens is < 1 or > 1_000_000)
        {
            yield return ("$.limits.maxCompletionTokens", "must be between 1 and 1000000");
        }

        if (limits.MaxChoices is < 1 or > 128)
        {
            yield return ("$.limits.maxChoices", "must be between 1 and 128");
        }

        if (limits.DefaultMaxTokens < 1 || limits.DefaultMaxTokens > limits.MaxCompletionTokens)
        {
            yield return ("$.limits.defaultMaxTokens", "must be at least 1 and at most limits.maxCompletionTokens");
        }

        if (options.RateLimits.Enabled && !options.RateLimits.Tiers.ContainsKey(options.RateLimits.DefaultTier))
        {
            yield return ("$.rateLimits.defaultTier", $"names tier '{options.RateLimits.DefaultTier}', which rateLimits.tiers does not define");
        }

        foreach (var (tier, tierLimits) in options.RateLimits.Tiers)
        {
            foreach (var (field, reason) in tierLimits.Validate())
            {
                yield return ($"$.rateLimits.tiers.{tier}.{field}", reason);
            }
        }

        if (options.UsageLog.ChannelCapacity is < 1 or > 10_000_000)
        {
            yield return ("$.usageLog.channelCapacity", "must be between 1 and 10000000");
        }

        if (options.UsageLog.BatchSize is < 1 or > 100_000)
        {
            yield return ("$.usageLog.batchSize", "must be between 1 and 100000");
        }

        if (options.UsageLog.PromptRetentionDays is < 0)
        {
            yield return ("$.usageLog.promptRetentionDays", "must not be negative (0 keeps no prompt text, null keeps it forever)");
        }

        if (string.IsNullOrWhiteSpace(options.BuiltInModel.Id))
        {
            yield return ("$.builtInModel.id", "must name the model");
        }

        var seenModels = new HashSet<string>(StringComparer.Ordinal);
        if (options.BuiltInModel.Enabled)
        {
            seenModels.Add(options.BuiltInModel.Id);
        }

        for (var i = 0; i < options.Upstreams.Count; i++)
        {
            var upstream = options.Upstreams[i];
            var at = $"$.upstreams[{i}]";
            if (string.IsNullOrWhiteSpace(upstream.Name))
            {
                yield return ($"{at}.name", "must name the upstream");
            }

            if (!Uri.TryCreate(upstream.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                yield return ($"{at}.baseUrl", $"must be an absolute http or https URL, not '{upstream.BaseUrl}'");
            }

            if (upstream.Models.Count == 0)
            {
                yield return ($"{at}.models", "must list at least one model id");
            }

            foreach (var model in upstream.Models)
            {
                if (!seenModels.Add(model))
                {
                    yield return ($"{at}.models", $"model '{model}' is already served by another route");
                }
            }

            if (upstream.TimeoutSeconds is <= 0 or > 3600)
            {
                yield return ($"{at}.timeoutSeconds", "must be greater than 0 and at most 3600");
            }

            if (upstream.ConnectTimeoutSeconds is <= 0 or > 600)
            {
                yield return ($"{at}.connectTimeoutSeconds", "must be greater than 0 and at most 600");
            }

            if (upstream.StreamIdleTimeoutSeconds is <= 0 or > 3600)
            {
                yield return ($"{at}.streamIdleTimeoutSeconds", "must be greater than 0 and at most 3600");
            }
        }

        for (var i = 0; i < options.TrustedProxies.Count; i++)
        {
            var entry = options.TrustedProxies[i];
            if (!IPAddress.TryParse(entry, out _) && !IPNetwork.TryParse(entry, out _))
            {
                yield return ($"$.trustedProxies[{i}]", $"'{entry}' is neither an IP address nor a CIDR network");
            }
        }
    }

    private static string Describe(JsonException e)
    {
        // System.Text.Json's messages carry their own position suffix; keep the reason only.
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    /// <summary>Maps JSON paths (<c>$.a.b[2].c</c>) to the 1-based line where their value starts.</summary>
    private sealed class JsonLineIndex
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
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(GatewayOptions))]
internal sealed partial class GatewayConfigJsonContext : JsonSerializerContext;
