using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DistillGuard.Gateway.Dashboard;

/// <summary>Serves the dashboard under <see cref="Prefix"/>: pages, its static files and sign-out.</summary>
internal static class DashboardEndpoints
{
    public const string Prefix = "/ui";

    /// <summary>
    /// Adds the dashboard's middleware (session cookie, authorization, antiforgery, security headers) for <c>/ui</c>
    /// requests only, so the API's request path pays nothing for it, and maps its endpoints.
    /// </summary>
    public static void MapDashboard(this WebApplication app)
    {
        app.UseWhen(c => c.Request.Path.StartsWithSegments(Prefix, StringComparison.Ordinal), ui =>
        {
            ui.Use((context, next) =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "same-origin";
                return next(context);
            });
            ui.UseAuthentication();
            ui.UseAuthorization();
            ui.UseAntiforgery();
        });

        var assets = DashboardAssets.Load();
        app.MapGet(Prefix + "/assets/{name}", (string name) => assets.TryGetValue(name, out var asset)
            ? Results.Bytes(asset.Content, asset.ContentType)
            : Results.NotFound());
        app.MapPost(Prefix + "/logout", SignOutAsync);
        app.MapRazorComponents<DashboardApp>();
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.BadRequest();
        }

        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.Redirect(Prefix + "/login");
    }
}
