using DistillGuard.Gateway.Policy;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Dashboard;

/// <summary>Who is signed in to the dashboard: the name given at sign-in, as the audit log records it.</summary>
internal static class Analyst
{
    public static string Name(HttpContext context) => AnalystActions.RequireActor(context.User.Identity?.Name is { Length: > 0 } name ? name : "admin");
}
