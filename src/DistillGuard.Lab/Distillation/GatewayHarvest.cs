using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Lab.Radioactivity;

namespace DistillGuard.Lab.Distillation;

/// <summary>The distiller's side of the lab: an account on a live gateway, then answers harvested with the official client.</summary>
/// <remarks>
/// The lab account is created through the admin API on the <c>verified-research</c> tier and allowlisted
/// (<c>POST /admin/v1/accounts/{id}/actions {"action":"allowlist"}</c>), so the policy ladder does not throttle the
/// harvest: the lab measures radioactivity, not the ladder (docs/policy.md measures that).
/// </remarks>
public static class GatewayHarvest
{
    /// <summary>Creates (or re-keys) the lab account and allowlists it; returns its API key.</summary>
    public static async Task<string> CreateLabAccountAsync(Uri gateway, string adminToken, string accountId, CancellationToken cancellationToken = default)
    {
        using var admin = new HttpClient { BaseAddress = gateway };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var created = await admin.PostAsJsonAsync("admin/v1/accounts", new { id = accountId, org = "distillguard-lab", tier = "verified-research" }, cancellationToken).ConfigureAwait(false);
        created.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await created.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var key = document.RootElement.GetProperty("apiKey").GetString() ?? throw new InvalidDataException("The gateway returned no API key.");
        using var allow = await admin.PostAsJsonAsync($"admin/v1/accounts/{Uri.EscapeDataString(accountId)}/actions", new { action = "allowlist", reason = "lab" }, cancellationToken).ConfigureAwait(false);
        allow.EnsureSuccessStatusCode();
        return key;
    }

    /// <summary>Harvests one answer per prompt from <paramref name="model"/> (temperature 1, top-p 0.95: the teacher's own distribution).</summary>
    public static async Task<IReadOnlyList<HarvestedAnswer>> HarvestAsync(Uri gateway, string apiKey, string model, IReadOnlyList<string> prompts, int maxTokens, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var probe = new SuspectProbe(new Uri(gateway, "v1"), apiKey, model) { Temperature = 1f, TopP = 0.95f, Concurrency = 4 };
        var (samples, _, _) = await probe.CollectAsync(prompts, maxTokens, progress, cancellationToken).ConfigureAwait(false);
        return [.. samples.Select(s => new HarvestedAnswer(s.Prompt, s.Answer))];
    }
}
