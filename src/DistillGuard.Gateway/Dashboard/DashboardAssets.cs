namespace DistillGuard.Gateway.Dashboard;

/// <summary>The dashboard's static files (its stylesheet and script, the vendored uPlot), embedded in the assembly.</summary>
/// <remarks>Nothing is fetched at run time: the files ship inside the gateway, so the dashboard works offline.</remarks>
internal static class DashboardAssets
{
    private const string ResourcePrefix = "dashboard/";

    public sealed record Asset(byte[] Content, string ContentType);

    /// <summary>Every embedded file by name, read once.</summary>
    public static IReadOnlyDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var name = resource[ResourcePrefix.Length..];
            assets[name] = new Asset(buffer.ToArray(), ContentType(name));
        }

        return assets;
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
}
