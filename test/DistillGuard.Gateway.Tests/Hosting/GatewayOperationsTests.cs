using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Tests.Hosting;

/// <summary>What an operator relies on: metrics, logs without secrets, client addresses, and a clean shutdown.</summary>
public sealed class GatewayOperationsTests
{
    [Fact]
    public async Task Logs_NeverCarryPromptTextOrSecretsAboveTrace()
    {
        await using var gateway = await TestGateway.StartAsync(o => o.Accounts.SelfRegister = true);
        const string prompt = "PROMPT-CANARY-7f3a the secret plan";
        const string key = "dg-SECRET-CANARY-KEY-5b1c000000000";
        using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions",
            $$"""{"model":"dg-teacher","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":4}""", key));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var bad = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", "{\"model\": \"PROMPT-CANARY-7f3a", key));
        await gateway.App.StopAsync();

        var leaks = gateway.Logs.Entries
            .Where(e => e.Level > LogLevel.Trace)
            .Where(e => e.Message.Contains("PROMPT-CANARY", StringComparison.Ordinal)
                || e.Message.Contains("SECRET-CANARY", StringComparison.Ordinal)
                || e.Message.Contains(TestGateway.AdminTokenValue, StringComparison.Ordinal))
            .ToList();
        Assert.Empty(leaks);
        Assert.NotEmpty(gateway.Logs.Entries);
    }

    [Fact]
    public async Task Metrics_ExposeRequestsLatencyTokensAndUsageEvents()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = await gateway.CreateAccountAsync("hank");
        using var ok = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","messages":[{"role":"user","content":"The city"}],"max_tokens":4}""", key));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var text = await gateway.Http.GetStringAsync("metrics");
        Assert.Contains("distillguard_requests_total{endpoint=\"chat.completions\",model=\"dg-teacher\",status=\"200\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("distillguard_request_duration_seconds_bucket", text, StringComparison.Ordinal);
        Assert.Contains("distillguard_tokens_total{direction=\"completion\"}", text, StringComparison.Ordinal);
        Assert.Contains("distillguard_usage_events_written", text, StringComparison.Ordinal);
        Assert.Contains("distillguard_usage_events_dropped", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "127.0.0.1")]
    [InlineData("198.51.100.1", "127.0.0.1")]
    [InlineData("127.0.0.1,::1", "203.0.113.9")]
    [InlineData("127.0.0.0/8", "203.0.113.9")]
    public async Task ForwardedFor_IsHonouredOnlyFromConfiguredProxies(string trustedProxies, string expectedAddress)
    {
        await using var gateway = await TestGateway.StartAsync(o => o.TrustedProxies.AddRange(trustedProxies.Split(',', StringSplitOptions.RemoveEmptyEntries)));
        var key = await gateway.CreateAccountAsync("ivy");
        using var request = gateway.Post("v1/chat/completions", """{"model":"dg-teacher","messages":[{"role":"user","content":"x"}],"max_tokens":2}""", key);
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("harvester", "1.0"));
        using var response = await gateway.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await gateway.App.StopAsync();
        var recorded = Assert.Single(await UsageLogReader.ReadAllAsync(gateway.DataDirectory));
        Assert.Equal(expectedAddress, recorded.ClientAddress);
        Assert.Equal("harvester/1.0", recorded.UserAgent);
        Assert.Equal(2, recorded.MaxTokens);
        Assert.Equal("x", recorded.PromptText?.Trim());
    }

    [Fact]
    public async Task Shutdown_DrainsEveryAcceptedEvent()
    {
        await using var gateway = await TestGateway.StartAsync(o => o.UsageLog.BatchSize = 7);
        var key = await gateway.CreateAccountAsync("jane");

        // 120 templated requests in a burst look like a harvest (rightly); an analyst's allowlist keeps the ladder off.
        using (var allowlist = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts/jane/actions", new { action = "allowlist", reason = "load test" }))
        {
            allowlist.EnsureSuccessStatusCode();
        }

        var requests = Enumerable.Range(0, 120).Select(async i =>
        {
            using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions",
                $$"""{"model":"dg-teacher","messages":[{"role":"user","content":"request {{i}}"}],"max_tokens":2}""", key));
            return response.StatusCode;
        });
        var statuses = await Task.WhenAll(requests);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));

        await gateway.App.StopAsync();
        Assert.Equal(0, gateway.App.UsageLog.Dropped);
        var events = await UsageLogReader.ReadAllAsync(gateway.DataDirectory);
        Assert.Equal(120, events.Count);
        Assert.Equal(120, events.Select(e => e.RequestId).Distinct().Count());
    }
}
