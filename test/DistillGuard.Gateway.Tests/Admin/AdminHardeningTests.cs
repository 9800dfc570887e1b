using System.Net.Http.Json;
using DistillGuard.Gateway.Admin;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Admin;

/// <summary>The admin API refuses what it would otherwise guess at: duplicate keys, unbounded actors, short tokens, unbindable queries.</summary>
public sealed class AdminHardeningTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await TestGateway.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Action_DuplicateKey_Gets400_AndTheAccountIsNotSuspended()
    {
        await _gateway.CreateAccountAsync("jay");
        using var content = new StringContent("""{"action":"clear","action":"block","reason":"which one?"}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await _gateway.Admin.PostAsync("admin/v1/accounts/jay/actions", content);
        await BadInputTests.AssertErrorAsync(response, 400, "invalid_json");

        var policy = await _gateway.Admin.GetStringAsync("admin/v1/accounts/jay/policy");
        Assert.DoesNotContain("suspend", policy, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task CreateAccount_DuplicateKey_Gets400()
    {
        using var content = new StringContent("""{"id":"kim","id":"kit","org":"o"}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await _gateway.Admin.PostAsync("admin/v1/accounts", content);
        await BadInputTests.AssertErrorAsync(response, 400, "invalid_json");
    }

    [Fact]
    public async Task Action_HugeActor_Gets400_AndNothingIsAudited()
    {
        await _gateway.CreateAccountAsync("lee");
        using var response = await _gateway.Admin.PostAsJsonAsync("admin/v1/accounts/lee/actions", new { action = "clear", reason = "fine", actor = new string('a', 200_000) });
        await BadInputTests.AssertErrorAsync(response, 400, "invalid_request_error");

        var audit = await _gateway.Admin.GetStringAsync("admin/v1/audit?account=lee");
        Assert.DoesNotContain("aaaa", audit, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin/v1/accounts?limit=abc")]
    [InlineData("admin/v1/audit?limit=1e99")]
    [InlineData("admin/v1/accounts?flagged=perhaps")]
    public async Task Query_Unbindable_Gets400WithAnOpenAIErrorBody(string path)
    {
        using var response = await _gateway.Admin.GetAsync(path);
        await BadInputTests.AssertErrorAsync(response, 400, "invalid_request");
    }

    [Fact]
    public void Resolve_ConfiguredTokenShorterThan16_IsRefused()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dg-token-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => AdminToken.Resolve(directory, "x"));
            Assert.Contains("16", e.Message, StringComparison.Ordinal);
            Assert.Equal("configuration", AdminToken.Resolve(directory, "a-token-of-sixteen").Source);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
