using System.Text.Json;

namespace DistillGuard.Gateway.Tests.Infrastructure;

/// <summary>Waits for the gateway's background work (detection, the ladder, campaign linking) to show in the admin API.</summary>
internal static class AdminPolling
{
    /// <summary>The admin API's view of one account (fails the test on a non-2xx answer).</summary>
    public static async Task<JsonElement> GetAccountAsync(this TestGateway gateway, string id)
    {
        using var response = await gateway.Admin.GetAsync($"admin/v1/accounts/{id}");
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>Polls <paramref name="path"/> until <paramref name="done"/> holds, for at most 40 s.</summary>
    public static async Task<JsonElement> PollAdminAsync(this TestGateway gateway, string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(40);
        JsonElement last;
        do
        {
            using var response = await gateway.Admin.GetAsync(path);
            last = response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone() : default;
            if (last.ValueKind == JsonValueKind.Object && done(last))
            {
                return last;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"{path} did not reach the expected state within 40 s; last: {last}");
    }
}
