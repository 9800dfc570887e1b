using System.Net;
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
        try
        {
            return JsonConfigReader.Load(path, GatewayConfigJsonContext.Default.GatewayOptions, Validate);
        }
        catch (JsonConfigException e)
        {
            throw new GatewayConfigException(e.Message);
        }
    }

    /// <summary>Parses and validates config JSON; <paramref name="source"/> names it in errors.</summary>
    public static GatewayOptions Parse(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            return JsonConfigReader.Parse(json, source, GatewayConfigJsonContext.Default.GatewayOptions, Validate);
        }
        catch (JsonConfigException e)
        {
            throw new GatewayConfigException(e.Message);
        }
    }

    /// <summary>Every problem with <paramref name="options"/>, as (JSON path, reason).</summary>
    public static IEnumerable<(string Path, string Reason)> Validate(GatewayOptions options)
    {
        foreach (var problem in Watermarking.WatermarkSetup.Validate(options.Watermark))
        {
            yield return problem;
        }

        var semantics = options.Semantics;
        if (semantics.MaxTokens is < 3 or > 256)
        {
            yield return ("$.semantics.maxTokens", "must be between 3 and 256");
        }

        if (semantics.FirstPerHour < 0 || semantics.EveryNth < 1 || semantics.QueueCapacity < 1)
        {
            yield return ("$.semantics", "firstPerHour must be at least 0, everyNth and queueCapacity at least 1");
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

        if (options.Storage.Postgres is { } postgres)
        {
            string? reason = null;
            try
            {
                new DistillGuard.Storage.PostgresStorageOptions { ConnectionString = postgres }.Validate();
            }
            catch (ArgumentException e)
            {
                reason = e.Message;
            }

            if (reason is not null)
            {
                yield return ("$.storage.postgres", reason);
            }
        }

        if (options.Storage.EventRetentionDays is { } retentionDays && (retentionDays < 1 || options.Storage.Postgres is null))
        {
            yield return ("$.storage.eventRetentionDays", retentionDays < 1 ? "must be at least 1 (partitions are days)" : "needs storage.postgres: SQLite keeps every event");
        }

        foreach (var problem in ValidateSharedState(options))
        {
            yield return problem;
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

            if (upstream.MaxResponseBytes is < 1024 or > 1L << 30)
            {
                yield return ($"{at}.maxResponseBytes", "must be between 1024 and 1073741824");
            }

            if (upstream.MaxEventBytes is < 1024 or > 1 << 28)
            {
                yield return ($"{at}.maxEventBytes", "must be between 1024 and 268435456");
            }

            if (upstream.Watermark is { } watermark)
            {
                foreach (var problem in watermark.Validate($"{at}.watermark"))
                {
                    yield return problem;
                }
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

    private static IEnumerable<(string Path, string Reason)> ValidateSharedState(GatewayOptions options)
    {
        var shared = options.SharedState;
        if (shared.Redis is { } redis)
        {
            string? reason = null;
            try
            {
                if (StackExchange.Redis.ConfigurationOptions.Parse(redis).EndPoints.Count == 0)
                {
                    reason = "names no server (host:port)";
                }
            }
            catch (ArgumentException e)
            {
                reason = "is not a StackExchange.Redis configuration string: " + e.Message;
            }

            if (reason is not null)
            {
                yield return ("$.sharedState.redis", reason);
            }
        }

        foreach (var (path, mode) in shared.OnUnreachableByTier.Select(p => ($"$.sharedState.onUnreachableByTier.{p.Key}", p.Value)).Prepend(("$.sharedState.onUnreachable", shared.OnUnreachable)))
        {
            if (mode is not ("open" or "closed"))
            {
                yield return (path, $"must be \"open\" or \"closed\", not \"{mode}\"");
            }
        }

        if (shared.LeaseSeconds is <= 0 or > 86_400)
        {
            yield return ("$.sharedState.leaseSeconds", "must be greater than 0 and at most 86400");
        }

        if (shared.Redis is null)
        {
            foreach (var (tier, limits) in options.RateLimits.Tiers)
            {
                if (limits.ConcurrentRequests is not null)
                {
                    yield return ($"$.rateLimits.tiers.{tier}.concurrentRequests", "needs sharedState.redis: in-flight leases are kept by the shared store");
                }
            }
        }
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
