using System.Text.Json;
using DistillGuard.Gateway.Detection;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Gateway.Tests.Detection;

public sealed class DetectionRestartTests
{
    [Fact]
    public async Task Restart_RebuildsEveryAccountFromTheUsageLog_BeforeThePolicyDecides()
    {
        var data = Path.Combine(Path.GetTempPath(), "dg-gw-restart-" + Guid.NewGuid().ToString("N"));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));
        try
        {
            JsonElement before;
            await using (var first = await TestGateway.StartAsync(o => o.DataDirectory = data, time: time, keepData: true))
            {
                var key = await first.CreateAccountAsync("harvester");
                for (var i = 0; i < HarvestPrompts.Count; i++)
                {
                    await SendAsync(first, key, HarvestPrompts.Prompt(i));
                    time.Advance(TimeSpan.FromSeconds(2));
                }

                await first.DetectionObservedAsync(HarvestPrompts.Count);
                before = await first.GetAccountAsync("harvester");
            }

            Assert.True(before.GetProperty("flagged").GetBoolean(), before.ToString());

            // A deploy a minute later: the new process starts with an empty engine and reads the usage log back.
            time.Advance(TimeSpan.FromMinutes(1));
            await using var second = await TestGateway.StartAsync(o => o.DataDirectory = data, time: time, keepData: true);
            await second.App.Services.GetRequiredService<DetectionWarmStart>().Completed.WaitAsync(TimeSpan.FromMinutes(1));
            var after = await second.GetAccountAsync("harvester");

            Assert.True(after.GetProperty("flagged").GetBoolean(), after.ToString());
            Assert.Equal(before.GetProperty("riskLevel").GetString(), after.GetProperty("riskLevel").GetString());
            Assert.Equal(before.GetProperty("riskScore").GetDouble(), after.GetProperty("riskScore").GetDouble(), 2);
            Assert.Equal(Codes(before), Codes(after));
            Assert.Contains(second.Logs.Entries, e => e.Message.StartsWith("Detection state rebuilt from the usage log: " + HarvestPrompts.Count + " events of 1 accounts", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Restart_WithTheWarmStartOff_StartsEmpty()
    {
        var data = Path.Combine(Path.GetTempPath(), "dg-gw-restart-" + Guid.NewGuid().ToString("N"));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));
        try
        {
            await using (var first = await TestGateway.StartAsync(o => o.DataDirectory = data, time: time, keepData: true))
            {
                var key = await first.CreateAccountAsync("harvester");
                for (var i = 0; i < 12; i++)
                {
                    await SendAsync(first, key, HarvestPrompts.Prompt(i));
                    time.Advance(TimeSpan.FromSeconds(2));
                }

                await first.DetectionObservedAsync(12);
            }

            time.Advance(TimeSpan.FromMinutes(1));
            await using var second = await TestGateway.StartAsync(o => o.DataDirectory = data, time: time, keepData: true, detection: new DetectionHostOptions { WarmStartWindow = TimeSpan.Zero });
            await second.App.Services.GetRequiredService<DetectionWarmStart>().Completed.WaitAsync(TimeSpan.FromMinutes(1));
            var after = await second.GetAccountAsync("harvester");

            Assert.False(after.TryGetProperty("riskLevel", out var level) && level.GetString() is "review" or "friction" or "low" or "insufficient_evidence", after.ToString());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static string[] Codes(JsonElement account) =>
        [.. account.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()!)];

    private static async Task SendAsync(TestGateway gateway, string apiKey, string prompt)
    {
        var body = JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, logprobs = true, top_logprobs = 5, messages = new[] { new { role = "user", content = prompt } } });
        using var request = gateway.Post("v1/chat/completions", body, apiKey);
        using var response = await gateway.Http.SendAsync(request);
        Assert.Contains(response.StatusCode, new[] { System.Net.HttpStatusCode.OK, System.Net.HttpStatusCode.Forbidden, System.Net.HttpStatusCode.TooManyRequests });
    }
}
