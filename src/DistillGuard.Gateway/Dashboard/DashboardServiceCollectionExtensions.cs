using DistillGuard.Gateway.Admin;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DistillGuard.Gateway.Dashboard;

/// <summary>Wires the analyst's dashboard (<c>/ui/</c>): server-rendered Razor components behind an admin-token login.</summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>Name of the session cookie.</summary>
    public const string SessionCookie = "dg_ui";

    /// <summary>Adds the dashboard's components, its session cookie, antiforgery and the data-protection keys both use.</summary>
    /// <remarks>The keys are kept in <c>DATA/ui-keys</c>, so a restart keeps analysts signed in.</remarks>
    public static IServiceCollection AddDistillGuardDashboard(this IServiceCollection services, string dataDirectory)
    {
        services.AddRazorComponents();
        services.AddDataProtection()
            .SetApplicationName("DistillGuard.Dashboard")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDirectory, "ui-keys")));
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(cookie =>
            {
                cookie.Cookie.Name = SessionCookie;
                cookie.Cookie.Path = DashboardEndpoints.Prefix;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.LoginPath = DashboardEndpoints.Prefix + "/login";
                cookie.LogoutPath = DashboardEndpoints.Prefix + "/logout";
                cookie.AccessDeniedPath = DashboardEndpoints.Prefix + "/login";
                cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
                cookie.SlidingExpiration = true;
            });
        services.AddAuthorization();
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "dg_ui_csrf";
            antiforgery.Cookie.Path = DashboardEndpoints.Prefix;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddSingleton<AccountDirectory>();
        return services;
    }
}
