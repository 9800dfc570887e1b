using System.Security.Cryptography;
using System.Text;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Storage.Accounts;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Inference;

/// <summary>Maps the bearer API key of an inference request to its account (or self-registers it, when allowed).</summary>
internal sealed partial class ApiKeyAuthentication(IAccountStore accounts, GatewayOptions options, ILogger<ApiKeyAuthentication> logger)
{
    public async ValueTask<AuthenticatedAccount?> AuthenticateAsync(HttpContext context)
    {
        var key = ApiKey(context.Request);
        if (key is null)
        {
            return null;
        }

        var found = await accounts.AuthenticateAsync(key, context.RequestAborted);
        if (found is not null || !options.Accounts.SelfRegister)
        {
            return found;
        }

        // Demo and simulation mode: the key itself names a new account. The id comes from the key's hash so it never shows the key.
        var id = "self-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        try
        {
            await accounts.CreateAsync(new NewAccount { Id = id, ApiKey = key, Tier = "free" }, context.RequestAborted);
            LogSelfRegistered(logger, id);
        }
        catch (AccountConflictException)
        {
            // Another request registered the same key a moment ago.
        }
        catch (ArgumentException)
        {
            return null;
        }

        return await accounts.AuthenticateAsync(key, context.RequestAborted);
    }

    /// <summary>
    /// The caller's API key: the token of an <c>Authorization: Bearer</c> header, else an <c>x-api-key</c> header (as
    /// Anthropic clients send it); null when neither is there.
    /// </summary>
    public static string? ApiKey(HttpRequest request)
    {
        if (BearerToken(request) is { } bearer)
        {
            return bearer;
        }

        var header = request.Headers["x-api-key"].ToString().Trim();
        return header.Length == 0 ? null : header;
    }

    /// <summary>The token of an <c>Authorization: Bearer</c> header, or null.</summary>
    public static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (header.Length <= prefix.Length || !header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header[prefix.Length..].Trim();
        return token.Length == 0 ? null : token;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Self-registered account {AccountId}")]
    private static partial void LogSelfRegistered(ILogger logger, string accountId);
}
