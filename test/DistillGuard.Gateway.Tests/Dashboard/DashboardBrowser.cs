using Microsoft.Playwright;

namespace DistillGuard.Gateway.Tests.Dashboard;

/// <summary>Headless Chromium from the system's packages, driven by Playwright (its own browser download cannot work here).</summary>
/// <remarks>
/// <c>DISTILLGUARD_CHROMIUM</c> points at another binary; <c>DISTILLGUARD_SCREENSHOTS</c> (a folder, relative to the
/// repository root) makes the tests write a screenshot of each page there, as <c>docs/images</c> holds them.
/// </remarks>
public sealed class DashboardBrowser : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = default!;

    public static string ExecutablePath => Environment.GetEnvironmentVariable("DISTILLGUARD_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"The dashboard's browser tests need Chromium at {ExecutablePath}: install it with 'apt-get install -y -qq chromium' (.ci/run does), or set DISTILLGUARD_CHROMIUM.");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ExecutablePath, Headless = true, Args = ["--no-sandbox"] });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>Writes a full-page screenshot as <c>ui-NAME.png</c> when <c>DISTILLGUARD_SCREENSHOTS</c> is set.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("DISTILLGUARD_SCREENSHOTS") is not { Length: > 0 } folder)
        {
            return;
        }

        var directory = Path.IsPathRooted(folder) ? folder : Path.Combine(RepositoryRoot(), folder);
        Directory.CreateDirectory(directory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(directory, $"ui-{name}.png"), FullPage = true });
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

        throw new InvalidOperationException("The repository root (DistillGuard.slnx) is not above " + AppContext.BaseDirectory);
    }
}
