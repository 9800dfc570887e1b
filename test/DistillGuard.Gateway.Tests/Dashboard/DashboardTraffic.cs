using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Playwright;

namespace DistillGuard.Gateway.Tests.Dashboard;

/// <summary>What the dashboard tests share: chat requests to the gateway and the analyst's sign-in.</summary>
internal static class DashboardTraffic
{
    public static Task<HttpResponseMessage> SendAsync(TestGateway gateway, string apiKey, string prompt, int maxTokens, bool logprobs = false)
    {
        var body = JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = maxTokens, logprobs, messages = new[] { new { role = "user", content = prompt } } });
        return gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, apiKey));
    }

    /// <summary>Signs in through the login form as <paramref name="analyst"/> and waits for the accounts list.</summary>
    public static async Task SignInAsync(IPage page, string analyst)
    {
        await page.GotoAsync("/ui/login");
        await page.GetByLabel("Admin token").FillAsync(TestGateway.AdminTokenValue);
        await page.GetByLabel("Your name").FillAsync(analyst);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/ui/accounts");
    }
}
