using System.Reflection;
using System.Text.Json;
using System.Xml.Linq;

namespace DistillGuard.Gateway.Tests.Architecture;

/// <summary>
/// The dependency rule of docs/architecture.md, checked twice: in the project files (what a developer can add by
/// accident) and in the compiled assemblies' metadata (what the compiler actually bound).
/// </summary>
public sealed class DependencyRuleTests
{
    // The pure cores: they must build and run without the web host, storage or the lab.
    public static TheoryData<string> Cores => new() { "DistillGuard.Detection", "DistillGuard.Watermarking", "DistillGuard.Policy", "DistillGuard.LanguageModels", "DistillGuard.Semantics", "DistillGuard.ThreatIntel", "DistillGuard.Primitives" };

    // The cores this test project's output carries (the gateway's dependencies), whose compiled metadata can be read.
    public static TheoryData<string> LoadedCores => new() { "DistillGuard.Detection", "DistillGuard.Watermarking", "DistillGuard.Policy", "DistillGuard.LanguageModels", "DistillGuard.Primitives" };

    private static readonly string[] s_forbiddenProjects = ["DistillGuard.Gateway", "DistillGuard.Storage", "DistillGuard.Lab", "DistillGuard.Cli"];

    private static readonly string[] s_forbiddenAssemblyPrefixes = ["DistillGuard.Gateway", "DistillGuard.Storage", "DistillGuard.Lab", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite", "SQLitePCLRaw"];

    [Theory]
    [MemberData(nameof(Cores))]
    public void ProjectFile_Core_ReferencesNeitherHostNorStorageTransitively(string core)
    {
        var closure = ProjectClosure(Path.Combine(RepositoryRoot(), "src", core, core + ".csproj"));

        foreach (var (project, document) in closure)
        {
            Assert.DoesNotContain(project, s_forbiddenProjects);
            var frameworks = document.Descendants("FrameworkReference").Select(f => (string?)f.Attribute("Include")).ToArray();
            Assert.DoesNotContain("Microsoft.AspNetCore.App", frameworks);
        }

        Assert.Contains(core, closure.Keys);
    }

    [Theory]
    [MemberData(nameof(LoadedCores))]
    public void Assembly_Core_BindsNeitherHostNorStorageTransitively(string core)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<AssemblyName>([new AssemblyName(core)]);
        while (pending.TryPop(out var name))
        {
            if (name.Name is not { } simple || !seen.Add(simple))
            {
                continue;
            }

            // "distillguard" is the command-line tool's assembly.
            Assert.False(simple == "distillguard" || s_forbiddenAssemblyPrefixes.Any(p => simple.StartsWith(p, StringComparison.Ordinal)), $"{core} reaches {simple}");
            if (simple.StartsWith("DistillGuard.", StringComparison.Ordinal))
            {
                foreach (var reference in Assembly.Load(name).GetReferencedAssemblies())
                {
                    pending.Push(reference);
                }
            }
        }

        Assert.Contains(core, seen);
    }

    [Fact]
    public void ServedTool_DependencyGraph_CarriesNoNativeGraphics()
    {
        // The tool that serves traffic draws no charts: the lab writes SVG text (Lab/Reporting/SvgChart), so no
        // plotting library and its native SkiaSharp / HarfBuzz binaries ship with `distillguard`.
        using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "distillguard.deps.json")));
        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToArray();

        Assert.Contains(libraries, l => l.StartsWith("DistillGuard.Gateway/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.StartsWith("SkiaSharp", StringComparison.OrdinalIgnoreCase) || l.StartsWith("HarfBuzzSharp", StringComparison.OrdinalIgnoreCase) || l.StartsWith("ScottPlot", StringComparison.OrdinalIgnoreCase));
    }

    private static Dictionary<string, XDocument> ProjectClosure(string projectFile)
    {
        var closure = new Dictionary<string, XDocument>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(projectFile)]);
        while (pending.TryPop(out var path))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (closure.ContainsKey(name))
            {
                continue;
            }

            var document = XDocument.Load(path);
            closure[name] = document;
            foreach (var reference in document.Descendants("ProjectReference"))
            {
                var include = ((string?)reference.Attribute("Include") ?? "").Replace('\\', Path.DirectorySeparatorChar);
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, include)));
            }
        }

        return closure;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "DistillGuard.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("DistillGuard.slnx not found above " + AppContext.BaseDirectory);
    }
}
