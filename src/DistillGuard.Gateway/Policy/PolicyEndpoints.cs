using System.Text.Json;
using System.Text.Json.Serialization;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Gateway.Admin;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Policy.Ladder;
using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistillGuard.Gateway.Policy;

/// <summary>The analyst's side of the ladder: account actions, the review queue and the audit log (under <c>/admin/v1</c>).</summary>
internal static class PolicyEndpoints
{
    public static void MapPolicyApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/accounts/{id}/actions", ActOnAccountAsync);
        admin.MapGet("/accounts/{id}/policy", GetAccountPolicyAsync);
        admin.MapGet("/review", ListReviewAsync);
        admin.MapGet("/review/{id:long}", GetReviewAsync);
        admin.MapPost("/review/{id:long}", DecideReviewAsync);
        admin.MapGet("/audit", ListAuditAsync);
        admin.MapGet("/campaigns", ListCampaignsAsync);
        admin.MapGet("/campaigns/{id}", GetCampaignAsync);
    }

    private static Task ListCampaignsAsync(HttpContext context, PolicyState state, int? limit) =>
        context.Response.WriteAsJsonAsync(
            new CampaignList([.. state.Campaigns.Values
                .OrderByDescending(c => c.Evidence / Math.Max(c.ReviewThreshold, 1e-9))
                .ThenByDescending(c => c.Campaign.Members.Count)
                .Take(Math.Clamp(limit ?? 100, 1, 10_000))
                .Select(c => View(c, state, memberLimit: 20))]),
            PolicyApiJsonContext.Default.CampaignList,
            cancellationToken: context.RequestAborted);

    private static async Task GetCampaignAsync(HttpContext context, string id, PolicyState state)
    {
        if (!state.Campaigns.TryGetValue(id, out var campaign))
        {
            await OpenAIError.NotFound(context, $"No campaign with id '{id}' (campaigns are re-linked at each decision tick).", "campaign_not_found");
            return;
        }

        await context.Response.WriteAsJsonAsync(View(campaign, state, memberLimit: int.MaxValue), PolicyApiJsonContext.Default.CampaignView, cancellationToken: context.RequestAborted);
    }

    /// <summary>A campaign as the admin API and the dashboard show it, with at most <paramref name="memberLimit"/> members listed.</summary>
    internal static CampaignView View(CampaignAssessment c, PolicyState state, int memberLimit) => new(
        c.Campaign.Id,
        c.Campaign.Members.Count,
        [.. c.Campaign.Members.Take(memberLimit)],
        [.. c.Campaign.Fringe.Order(StringComparer.Ordinal).Take(memberLimit)],
        c.Campaign.LinkScore,
        [.. c.Campaign.Links.Select(l => new CampaignLinkView(l.Code, l.Artifact, l.Accounts))],
        c.Campaign.Cohort,
        c.Level,
        c.Pooled?.Score ?? 0,
        Math.Round(c.Evidence, 4),
        c.Pooled?.RequestsWeek ?? 0,
        [.. (c.Pooled?.Reasons ?? []).Select(r => new RiskReason(r.Code, r.Detail, r.Value, r.Percentile))],
        state.Override(PolicyState.CampaignPrefix + c.Campaign.Id)?.Status);

    private static async Task ActOnAccountAsync(HttpContext context, string id, AnalystActions actions, PolicyState state)
    {
        var body = await ReadAsync(context, PolicyApiJsonContext.Default.AccountActionRequest);
        if (!await actions.ActOnAccountAsync(id, body.Action, body.Reason, Actor(context, body.Actor), context.RequestAborted))
        {
            await OpenAIError.NotFound(context, $"No account with id '{id}'.", "account_not_found");
            return;
        }

        await WritePolicyAsync(context, id, state);
    }

    private static Task GetAccountPolicyAsync(HttpContext context, string id, PolicyState state) => WritePolicyAsync(context, id, state);

    private static async Task ListReviewAsync(HttpContext context, IPolicyStore store, string? status, int? limit)
    {
        if (status is not (null or "open" or "approved" or "rejected" or "appealed"))
        {
            throw OpenAIErrorException.InvalidRequest("'status' must be one of open, approved, rejected, appealed.", "status");
        }

        var items = await store.ListReviewAsync(status, Math.Clamp(limit ?? 100, 1, 10_000), context.RequestAborted);
        await context.Response.WriteAsJsonAsync(new ReviewList(items), PolicyApiJsonContext.Default.ReviewList, cancellationToken: context.RequestAborted);
    }

    private static async Task GetReviewAsync(HttpContext context, long id, IPolicyStore store)
    {
        if (await store.GetReviewAsync(id, context.RequestAborted) is not { } item)
        {
            await OpenAIError.NotFound(context, $"No review item {id}.", "review_not_found");
            return;
        }

        await context.Response.WriteAsJsonAsync(item, PolicyApiJsonContext.Default.ReviewItem, cancellationToken: context.RequestAborted);
    }

    private static async Task DecideReviewAsync(HttpContext context, long id, AnalystActions actions)
    {
        var body = await ReadAsync(context, PolicyApiJsonContext.Default.ReviewDecisionRequest);
        if (await actions.DecideReviewAsync(id, body.Decision, body.Reason, Actor(context, body.Actor), context.RequestAborted) is not { } decided)
        {
            await OpenAIError.NotFound(context, $"No review item {id}.", "review_not_found");
            return;
        }

        await context.Response.WriteAsJsonAsync(decided, PolicyApiJsonContext.Default.ReviewItem, cancellationToken: context.RequestAborted);
    }

    private static async Task ListAuditAsync(HttpContext context, IPolicyStore store, string? account, int? limit)
    {
        var records = await store.ListAuditAsync(account, Math.Clamp(limit ?? 100, 1, 10_000), context.RequestAborted);
        await context.Response.WriteAsJsonAsync(new AuditList(records), PolicyApiJsonContext.Default.AuditList, cancellationToken: context.RequestAborted);
    }

    private static async Task WritePolicyAsync(HttpContext context, string id, PolicyState state)
    {
        var decision = state.DecisionFor(id);
        var manual = state.Override(id);
        var view = new AccountPolicyView(
            id,
            ActionLadder.Name(decision.Band),
            [.. decision.Applied.Order().Select(a => a.Name())],
            [.. decision.Shadowed.Order().Select(a => a.Name())],
            decision.Explanation,
            manual?.Status,
            manual?.Actor,
            manual?.Reason,
            manual?.At);
        await context.Response.WriteAsJsonAsync(view, PolicyApiJsonContext.Default.AccountPolicyView, cancellationToken: context.RequestAborted);
    }

    private static async Task<T> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        var body = await InferenceEndpoints.ReadUnambiguousJsonAsync(context);
        try
        {
            return JsonSerializer.Deserialize(body, type) ?? throw OpenAIErrorException.InvalidRequest("The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw OpenAIErrorException.InvalidRequest("The request body is not valid: " + InferenceEndpoints.Reason(e), e.Path, "invalid_json");
        }
    }

    /// <summary>Who acts: the body's <c>actor</c>, else the <c>X-DistillGuard-Analyst</c> header, else "admin"; at most <see cref="AnalystActions.MaxActorLength"/> characters.</summary>
    private static string Actor(HttpContext context, string? actor) => AnalystActions.RequireActor(
        actor is { Length: > 0 } ? actor
        : context.Request.Headers["X-DistillGuard-Analyst"].ToString() is { Length: > 0 } header ? header
        : "admin");
}

/// <summary>Body of <c>POST /admin/v1/accounts/{id}/actions</c>.</summary>
public sealed record AccountActionRequest(string? Action, string? Reason, string? Actor);

/// <summary>Body of <c>POST /admin/v1/review/{id}</c>.</summary>
public sealed record ReviewDecisionRequest(string? Decision, string? Reason, string? Actor);

/// <summary>An account's place on the ladder.</summary>
public sealed record AccountPolicyView(string AccountId, string Band, IReadOnlyList<string> Applied, IReadOnlyList<string> Shadowed, string Explanation, string? Override, string? OverrideBy, string? OverrideReason, DateTimeOffset? OverrideAt);

public sealed record ReviewList(IReadOnlyList<ReviewItem> Data);

/// <summary>One shared artifact of a campaign.</summary>
public sealed record CampaignLinkView(string Code, string Artifact, int Accounts);

/// <summary>A campaign: members, shared artifacts, the pooled traffic's score and reasons, and any analyst status.</summary>
/// <param name="Members">Member ids (the first 20 in a list; all of them for one campaign).</param>
/// <param name="Fringe">Members tied by one kind of artifact only: a discounted band, never suspended with the campaign.</param>
/// <param name="Reasons">The pooled traffic's largest detector contributions (pooled features with their benign percentiles).</param>
public sealed record CampaignView(
    string Id,
    int MemberCount,
    IReadOnlyList<string> Members,
    IReadOnlyList<string> Fringe,
    double LinkScore,
    IReadOnlyList<CampaignLinkView> Links,
    string Cohort,
    string Level,
    double Score,
    double Evidence,
    int PooledRequestsWeek,
    IReadOnlyList<RiskReason> Reasons,
    string? Override);

public sealed record CampaignList(IReadOnlyList<CampaignView> Data);

public sealed record AuditList(IReadOnlyList<AuditRecord> Data);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(AccountActionRequest))]
[JsonSerializable(typeof(ReviewDecisionRequest))]
[JsonSerializable(typeof(AccountPolicyView))]
[JsonSerializable(typeof(ReviewList))]
[JsonSerializable(typeof(AuditList))]
[JsonSerializable(typeof(ReviewItem))]
[JsonSerializable(typeof(CampaignView))]
[JsonSerializable(typeof(CampaignList))]
internal sealed partial class PolicyApiJsonContext : JsonSerializerContext;
