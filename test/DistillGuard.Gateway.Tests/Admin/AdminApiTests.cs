using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Admin;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Admin;

public sealed class AdminApiTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await TestGateway.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-admin-token-that-is-long-enough")]
    public async Task Admin_WithoutTheToken_Gets401(string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/v1/accounts");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await _gateway.Http.SendAsync(request);
        await BadInputTests.AssertErrorAsync(response, 401, "invalid_admin_token");
    }

    [Fact]
    public async Task CreateAccount_ThenItsUsageShowsInTheAccountView()
    {
        using var created = await _gateway.Admin.PostAsJsonAsync("admin/v1/accounts", new
        {
            id = "erin",
            org = "acme",
            tier = "enterprise",
            verified = true,
            paymentFingerprint = "card-4242",
            createdAt = "2026-01-02T03:04:05Z",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var createdJson = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var key = createdJson.RootElement.GetProperty("apiKey").GetString()!;
        Assert.StartsWith("dg-", key, StringComparison.Ordinal);
        Assert.Equal("enterprise", createdJson.RootElement.GetProperty("tier").GetString());
        Assert.DoesNotContain("card-4242", createdJson.RootElement.ToString(), StringComparison.Ordinal);

        for (var i = 0; i < 3; i++)
        {
            using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
                """{"model":"dg-teacher","messages":[{"role":"user","content":"The night was"}],"max_tokens":6}""", key));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var view = await PollAsync(async () =>
        {
            var v = await _gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/erin");
            return v.GetProperty("requests").GetInt64() == 3 ? v : (JsonElement?)null;
        });
        Assert.Equal("erin", view.GetProperty("id").GetString());
        Assert.True(view.GetProperty("tokensOut").GetInt64() is > 0 and <= 18);
        Assert.False(view.GetProperty("flagged").GetBoolean());
        Assert.Equal(JsonValueKind.Array, view.GetProperty("reasons").ValueKind);
        Assert.Equal("2026-01-02T03:04:05+00:00", view.GetProperty("createdAt").GetString());

        var list = await _gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts?sort=requests&limit=10");
        Assert.Contains(list.GetProperty("data").EnumerateArray(), a => a.GetProperty("id").GetString() == "erin");
        var flagged = await _gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts?flagged=true");
        Assert.Empty(flagged.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task CreateAccount_BadOrDuplicate_GetsPreciseErrors()
    {
        using var ok = await _gateway.Admin.PostAsJsonAsync("admin/v1/accounts", new { id = "frank", apiKey = "frank-supplied-key-0123456789" });
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);

        using var duplicate = await _gateway.Admin.PostAsJsonAsync("admin/v1/accounts", new { id = "frank" });
        await BadInputTests.AssertErrorAsync(duplicate, 409, "conflict");

        using var badId = await _gateway.Admin.PostAsJsonAsync("admin/v1/accounts", new { id = "has spaces and /slashes" });
        await BadInputTests.AssertErrorAsync(badId, 400, "invalid_request_error");

        using var malformed = await _gateway.Admin.PostAsync("admin/v1/accounts", new StringContent("{\"id\": ", System.Text.Encoding.UTF8, "application/json"));
        await BadInputTests.AssertErrorAsync(malformed, 400, "invalid_json");

        using var unknownField = await _gateway.Admin.PostAsJsonAsync("admin/v1/accounts", new { id = "gina", tierr = "x" });
        await BadInputTests.AssertErrorAsync(unknownField, 400, "invalid_json");

        using var missing = await _gateway.Admin.GetAsync("admin/v1/accounts/nobody");
        await BadInputTests.AssertErrorAsync(missing, 404, "account_not_found");

        using var modelsRequest = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        modelsRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "frank-supplied-key-0123456789");
        using var suppliedKeyWorks = await _gateway.Http.SendAsync(modelsRequest);
        Assert.Equal(HttpStatusCode.OK, suppliedKeyWorks.StatusCode);
    }

    [Fact]
    public async Task SelfRegistration_IsOffByDefault_AndWorksWhenEnabled()
    {
        const string body = """{"model":"dg-teacher","messages":[{"role":"user","content":"hello"}],"max_tokens":3}""";
        using var refused = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", body, "dg-brand-new-key-0000000000000"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        await using var open = await TestGateway.StartAsync(o => o.Accounts.SelfRegister = true);
        using var accepted = await open.Http.SendAsync(open.Post("v1/chat/completions", body, "dg-brand-new-key-0000000000000"));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var list = await open.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts");
        var account = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.StartsWith("self-", account.GetProperty("id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AdminToken_IsCreatedOnFirstStart_OwnerOnly_AndStable()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dg-token-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var first = AdminToken.Resolve(directory, null);
            var path = Path.Combine(directory, AdminToken.FileName);
            if (!OperatingSystem.IsWindows() && Environment.GetEnvironmentVariable(AdminToken.EnvironmentVariable) is null)
            {
                Assert.True(File.Exists(path));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                var token = File.ReadAllText(path);
                Assert.True(first.Matches(token));
                Assert.True(AdminToken.Resolve(directory, null).Matches(token));
                Assert.False(first.Matches(token + "x"));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<JsonElement> PollAsync(Func<Task<JsonElement?>> probe)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the usage log did not catch up within 5 s");
    }
}
