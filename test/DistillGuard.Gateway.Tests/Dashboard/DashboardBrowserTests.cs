using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Playwright;

namespace DistillGuard.Gateway.Tests.Dashboard;

/// <summary>
/// The analyst's dashboard in a real browser against a real gateway: sign in with the admin token, find the flagged
/// harvester at the top of the ranking, read its reasons, act on it with a reason, see the audit entry, decide its
/// review entry, check a text for the watermark, sign out.
/// </summary>
public sealed class DashboardBrowserTests(DashboardBrowser browser) : IClassFixture<DashboardBrowser>
{
    [Fact]
    public async Task Analyst_SignsIn_WorksTheFlaggedAccount_FromRankingToDecision()
    {
        await using var gateway = await TestGateway.StartAsync();
        var harvesterKey = await gateway.CreateAccountAsync("harvester");
        var casualKey = await gateway.CreateAccountAsync("casual");
        await HarvestUntilFlaggedAsync(gateway, harvesterKey);
        using (var casual = await SendAsync(gateway, casualKey, "Any tips for a job interview tomorrow?", maxTokens: 4))
        {
            Assert.Equal(HttpStatusCode.OK, casual.StatusCode);
        }

        var policy = await gateway.PollAdminAsync("admin/v1/accounts/harvester/policy", p => p.GetProperty("band").GetString() != "none");
        var apiView = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/harvester");
        var apiReasons = apiView.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()!).ToList();
        Assert.NotEmpty(apiReasons);

        await using var context = await browser.Browser.NewContextAsync(new() { BaseURL = gateway.BaseAddress.ToString(), ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();

        // Signed out, the dashboard sends the analyst to the login form.
        await page.GotoAsync("/ui/accounts");
        Assert.Contains("/ui/login", page.Url, StringComparison.Ordinal);
        await DashboardBrowser.ScreenshotAsync(page, "login");

        // A wrong token is refused on the page, with no session cookie.
        await page.GetByLabel("Admin token").FillAsync("not-the-admin-token-at-all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not the admin token");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "dg_ui");

        await page.GetByLabel("Admin token").FillAsync(TestGateway.AdminTokenValue);
        await page.GetByLabel("Your name").FillAsync("ana");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/ui/accounts");
        Assert.DoesNotContain(TestGateway.AdminTokenValue, page.Url, StringComparison.Ordinal);

        // The session cookie: HttpOnly, SameSite=Strict, scoped to /ui (Secure only over HTTPS; this gateway is plain HTTP).
        var session = Assert.Single(await context.CookiesAsync(), c => c.Name == "dg_ui");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.Equal("/ui", session.Path);
        Assert.DoesNotContain(TestGateway.AdminTokenValue, session.Value, StringComparison.Ordinal);

        // The ranking: the harvester first, flagged, with its reason codes.
        var first = page.Locator("table.accounts tbody tr").First;
        await Assertions.Expect(first.GetByRole(AriaRole.Link, new() { Name = "harvester" })).ToBeVisibleAsync();
        await Assertions.Expect(first).ToContainTextAsync("flagged");
        await Assertions.Expect(first).ToContainTextAsync(apiReasons[0]);
        await Assertions.Expect(page.Locator("table.accounts tbody tr", new() { HasText = "casual" })).Not.ToContainTextAsync("flagged");
        await DashboardBrowser.ScreenshotAsync(page, "accounts");

        // The filter keeps the flagged accounts only.
        await page.GetByLabel("Flagged").SelectOptionAsync("true");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForURLAsync("**flagged=true**");
        await Assertions.Expect(page.Locator("table.accounts tbody tr")).ToHaveCountAsync(1);

        // The account page: score, the same reasons as the admin API, the ladder's band, the traffic chart.
        await first.GetByRole(AriaRole.Link, new() { Name = "harvester" }).ClickAsync();
        await page.WaitForURLAsync("**/ui/accounts/harvester");
        var reasonCodes = await page.Locator("table.reasons tbody td:first-child code").AllInnerTextsAsync();
        Assert.Equal(apiReasons, reasonCodes);
        await Assertions.Expect(page.Locator(".cards")).ToContainTextAsync(policy.GetProperty("band").GetString()!);
        await Assertions.Expect(page.Locator(".chart[data-rendered=uplot] canvas")).ToHaveCountAsync(1);
        await DashboardBrowser.ScreenshotAsync(page, "account");

        // An action needs a reason; with one, it is recorded and shown in the audit trail.
        await page.GetByLabel("Verified (identity checked)").CheckAsync();
        await page.GetByLabel("Reason (required").FillAsync("called the customer; identity documents checked");
        await page.GetByRole(AriaRole.Button, new() { Name = "Record action" }).ClickAsync();
        await page.WaitForURLAsync("**/ui/accounts/harvester?done=verify");
        var verified = page.Locator("table.audit tbody tr", new() { HasText = "account:verify" });
        await Assertions.Expect(verified).ToContainTextAsync("ana");
        await Assertions.Expect(verified).ToContainTextAsync("identity documents checked");

        // A post without the antiforgery token is refused, session cookie or not.
        var forged = await page.APIRequest.PostAsync("/ui/accounts/harvester", new()
        {
            Data = "_handler=act&Action=block&Reason=forged",
            Headers = new Dictionary<string, string> { ["Content-Type"] = "application/x-www-form-urlencoded" },
        });
        Assert.Equal(400, forged.Status);
        var trail = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/audit?account=harvester");
        Assert.DoesNotContain(trail.GetProperty("data").EnumerateArray(), a => a.GetProperty("reason").GetString() == "forged");

        // The review queue: the harvester's entry, opened by the ladder; approve it.
        await page.GetByRole(AriaRole.Link, new() { Name = "Review queue" }).ClickAsync();
        var entry = page.Locator("table.review tbody tr", new() { HasText = "harvester" });
        await Assertions.Expect(entry).ToContainTextAsync("open");
        await DashboardBrowser.ScreenshotAsync(page, "review");
        await entry.GetByRole(AriaRole.Link).First.ClickAsync();
        await page.GetByLabel("Approve (suspend)").CheckAsync();
        await page.GetByLabel("Reason (required").FillAsync("templated reasoning harvest");
        await DashboardBrowser.ScreenshotAsync(page, "review-entry");
        await page.GetByRole(AriaRole.Button, new() { Name = "Record decision" }).ClickAsync();
        await page.WaitForURLAsync("**done=approve");
        await Assertions.Expect(page.Locator(".cards")).ToContainTextAsync("approved");
        await Assertions.Expect(page.Locator("table.audit tbody tr", new() { HasText = "account:suspend" })).ToContainTextAsync("ana");

        // The decision took effect on the API: the harvester is suspended.
        using (var suspended = await SendAsync(gateway, harvesterKey, "hello", maxTokens: 4))
        {
            Assert.Equal(HttpStatusCode.Forbidden, suspended.StatusCode);
        }

        var apiPolicy = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/harvester/policy");
        Assert.Equal("suspended", apiPolicy.GetProperty("override").GetString());

        // Campaigns and the audit log render for the same analyst.
        await page.GetByRole(AriaRole.Link, new() { Name = "Campaigns" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Campaigns" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        await Assertions.Expect(page.Locator("table.audit tbody tr", new() { HasText = "review:approve" })).ToContainTextAsync("templated reasoning harvest");
        await DashboardBrowser.ScreenshotAsync(page, "audit");

        // Watermark check: a text the built-in model wrote is ours, with its tokens coloured.
        var text = await CompleteAsync(gateway, casualKey, "The history of the county");
        await page.GetByRole(AriaRole.Link, new() { Name = "Watermark check" }).ClickAsync();
        await page.GetByLabel("Text to check").FillAsync(text);
        await page.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Result: watermarked" })).ToBeVisibleAsync();
        var detected = await gateway.Admin.PostAsJsonAsync("admin/v1/watermark/detect", new { text });
        var apiDetection = await detected.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(apiDetection.GetProperty("watermarked").GetBoolean());
        Assert.True(await page.Locator(".tokens .tok-green").CountAsync() > 0);
        await DashboardBrowser.ScreenshotAsync(page, "watermark");

        // Signing out ends the session: the dashboard asks for the token again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync("**/ui/login");
        await page.GotoAsync("/ui/review");
        Assert.Contains("/ui/login", page.Url, StringComparison.Ordinal);
    }

    /// <summary>Sends the templated harvest until the ladder answers with a verification request, or it is all sent.</summary>
    private static async Task HarvestUntilFlaggedAsync(TestGateway gateway, string apiKey)
    {
        for (var i = 0; i < HarvestPrompts.Count; i++)
        {
            using var response = await SendAsync(gateway, apiKey, HarvestPrompts.Prompt(i), maxTokens: 4, logprobs: true);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return;
            }
        }
    }

    private static async Task<string> CompleteAsync(TestGateway gateway, string apiKey, string prompt)
    {
        using var response = await SendAsync(gateway, apiKey, prompt, maxTokens: 300);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    private static Task<HttpResponseMessage> SendAsync(TestGateway gateway, string apiKey, string prompt, int maxTokens, bool logprobs = false)
    {
        var body = JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = maxTokens, logprobs, messages = new[] { new { role = "user", content = prompt } } });
        return gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, apiKey));
    }
}
