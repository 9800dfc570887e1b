using System.Text.Json.Serialization;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Policy.Configuration;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Policy;

/// <summary>Reads the response policy (JSON), validated with the line and the reason of each problem.</summary>
public static class PolicyFile
{
    /// <summary>Loads and validates <paramref name="path"/>; throws <see cref="JsonConfigException"/>.</summary>
    public static PolicyDocument Load(string path) =>
        JsonConfigReader.Load(path, PolicyJsonContext.Default.PolicyDocument, static policy => policy.Validate());

    /// <summary>Parses and validates policy JSON; <paramref name="source"/> names it in errors.</summary>
    public static PolicyDocument Parse(ReadOnlySpan<byte> json, string source) =>
        JsonConfigReader.Parse(json, source, PolicyJsonContext.Default.PolicyDocument, static policy => policy.Validate());
}

/// <summary>The policy in force, reloaded when its file changes; a bad reload keeps the last good policy.</summary>
/// <remarks>Readers on the request path see one consistent document (swapped atomically).</remarks>
internal sealed partial class PolicyProvider : IDisposable
{
    private readonly string? _path;
    private readonly ILogger _logger;
    private readonly ITimer? _timer;
    private volatile PolicyDocument _current;
    private (DateTime Written, long Length) _stamp;

    public PolicyProvider(string? path, TimeProvider time, ILogger<PolicyProvider> logger, TimeSpan? pollInterval = null)
    {
        _path = path;
        _logger = logger;
        if (path is null)
        {
            _current = new PolicyDocument();
            Source = "the shipped default";
            return;
        }

        // A broken file at start-up stops the gateway with the line and the reason (JsonConfigException).
        _stamp = Stamp(path);
        _current = PolicyFile.Load(path);
        Source = path;
        var interval = pollInterval ?? TimeSpan.FromSeconds(2);
        _timer = time.CreateTimer(_ => Poll(), null, interval, interval);
    }

    public PolicyDocument Current => _current;

    /// <summary>Where the policy came from.</summary>
    public string Source { get; }

    /// <summary>Why the last reload was refused, or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>Reloads now if the file changed; true when a new policy took effect.</summary>
    public bool Poll()
    {
        if (_path is null)
        {
            return false;
        }

        var stamp = Stamp(_path);
        if (stamp == _stamp)
        {
            return false;
        }

        _stamp = stamp;
        try
        {
            _current = PolicyFile.Load(_path);
            LastError = null;
            LogReloaded(_logger, _path);
            return true;
        }
        catch (JsonConfigException e)
        {
            LastError = e.Message;
            LogReloadRefused(_logger, e.Message);
            return false;
        }
    }

    public void Dispose() => _timer?.Dispose();

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Reloaded the response policy from {Path}")]
    private static partial void LogReloaded(ILogger logger, string path);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Error, Message = "Refused a policy reload, keeping the last good policy: {Reason}")]
    private static partial void LogReloadRefused(ILogger logger, string reason);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(PolicyDocument))]
internal sealed partial class PolicyJsonContext : JsonSerializerContext;
