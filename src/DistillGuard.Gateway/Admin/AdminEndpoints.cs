using System.Text.Json;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.ThreatIntel;
using DistillGuard.Gateway.Watermarking;
using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Usage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistillGuard.Gateway.Admin;

/// <summary>The admin API (<c>/admin/v1</c>) behind the admin token.</summary>
internal static class AdminEndpoints
{
    public static void MapAdminApi(this IEndpointRouteBuilder app, AdminToken token)
    {
        var admin = app.MapGroup("/admin/v1");
        admin.AddEndpointFilter(async (context, next) =>
        {
            if (!token.Matches(ApiKeyAuthentication.BearerToken(context.HttpContext.Request)))
            {
                await OpenAIError.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "A valid admin token is required.", "invalid_request_error", "invalid_admin_token");
                return Results.Empty;
            }

            try
            {
                return await next(context);
            }
            catch (OpenAIErrorException e)
            {
                await OpenAIError.WriteAsync(context.HttpContext, e);
                return Results.Empty;
            }
        });

        admin.MapPost("/accounts", CreateAccountAsync);
        admin.MapGet("/accounts", ListAccountsAsync);
        admin.MapGet("/accounts/{id}", GetAccountAsync);
        admin.MapPolicyApi();
        admin.MapWatermarkApi();
        admin.MapIntelAdminApi();
    }

    private static async Task CreateAccountAsync(HttpContext context, IAccountStore accounts, TimeProvider time)
    {
        var body = await ReadAsync(context);
        if (string.IsNullOrWhiteSpace(body.Id))
        {
            throw OpenAIErrorException.InvalidRequest("'id' is required.", "id");
        }

        CreatedAccount created;
        try
        {
            created = await accounts.CreateAsync(new NewAccount
            {
                Id = body.Id,
                ApiKey = body.ApiKey,
                Org = body.Org,
                Tier = body.Tier,
                Verified = body.Verified ?? false,
                PaymentFingerprint = body.PaymentFingerprint,
                CreatedAt = body.CreatedAt,
            }, context.RequestAborted);
        }
        catch (AccountConflictException e)
        {
            throw new OpenAIErrorException(StatusCodes.Status409Conflict, e.Message, "invalid_request_error", "conflict");
        }
        catch (ArgumentException e)
        {
            throw OpenAIErrorException.InvalidRequest(e.Message, e.ParamName);
        }

        var view = AccountDirectory.ToView(created.Account, null, null);
        var result = new CreatedAccountView
        {
            Id = view.Id,
            Org = view.Org,
            Tier = view.Tier,
            Verified = view.Verified,
            CreatedAt = view.CreatedAt,
            ApiKey = created.ApiKey,
            KeyId = created.KeyId,
        };
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = "/admin/v1/accounts/" + Uri.EscapeDataString(view.Id);
        await context.Response.WriteAsJsonAsync(result, GatewayJsonContext.Default.CreatedAccountView, cancellationToken: context.RequestAborted);
    }

    private static async Task ListAccountsAsync(HttpContext context, IAccountStore accounts, IUsageEventStore usage, IAccountRiskSource risk, bool? flagged, string? sort, int? limit)
    {
        if (limit is < 1 or > 10_000)
        {
            throw OpenAIErrorException.InvalidRequest("'limit' must be between 1 and 10000.", "limit");
        }

        if (sort is not (null or "risk" or "id" or "requests"))
        {
            throw OpenAIErrorException.InvalidRequest("'sort' must be one of risk, id, requests.", "sort");
        }

        var views = new List<AccountView>();
        foreach (var account in await accounts.ListAsync(context.RequestAborted))
        {
            var totals = await usage.GetAccountUsageAsync(account.Id, context.RequestAborted);
            var view = AccountDirectory.ToView(account, totals, risk.GetRisk(account.Id));
            if (flagged is null || view.Flagged == flagged)
            {
                views.Add(view);
            }
        }

        IEnumerable<AccountView> ordered = sort switch
        {
            "requests" => views.OrderByDescending(v => v.Requests).ThenBy(v => v.Id, StringComparer.Ordinal),
            "risk" => views.OrderByDescending(v => v.RiskScore ?? double.NegativeInfinity).ThenBy(v => v.Id, StringComparer.Ordinal),
            _ => views.OrderBy(v => v.Id, StringComparer.Ordinal),
        };
        var page = new AccountList([.. ordered.Take(limit ?? 100)]);
        await context.Response.WriteAsJsonAsync(page, GatewayJsonContext.Default.AccountList, cancellationToken: context.RequestAborted);
    }

    private static async Task GetAccountAsync(HttpContext context, string id, IAccountStore accounts, IUsageEventStore usage, IAccountRiskSource risk)
    {
        var account = await accounts.GetAsync(id, context.RequestAborted);
        if (account is null)
        {
            await OpenAIError.NotFound(context, $"No account with id '{id}'.", "account_not_found");
            return;
        }

        var totals = await usage.GetAccountUsageAsync(account.Id, context.RequestAborted);
        await context.Response.WriteAsJsonAsync(AccountDirectory.ToView(account, totals, risk.GetRisk(account.Id)), GatewayJsonContext.Default.AccountView, cancellationToken: context.RequestAborted);
    }

    private static async Task<CreateAccountRequest> ReadAsync(HttpContext context)
    {
        var body = await InferenceEndpoints.ReadUnambiguousJsonAsync(context);
        try
        {
            return JsonSerializer.Deserialize(body, GatewayJsonContext.Default.CreateAccountRequest)
                ?? throw OpenAIErrorException.InvalidRequest("The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw OpenAIErrorException.InvalidRequest("The request body is not valid JSON for an account: " + InferenceEndpoints.Reason(e), e.Path, "invalid_json");
        }
    }
}
