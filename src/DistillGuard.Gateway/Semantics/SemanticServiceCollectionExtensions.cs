using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace DistillGuard.Gateway.Semantics;

/// <summary>Wires the sentence-embedding detectors into the gateway's detection engine.</summary>
public static class SemanticServiceCollectionExtensions
{
    /// <summary>
    /// Adds the semantic worker: it loads all-MiniLM-L6-v2 in the background, then attaches the semantic features to
    /// the detection engine (<c>semantic_template</c>, <c>intent_nearness</c>, <c>semantic_breadth</c>, <c>cohort_mmd</c>).
    /// Needs <c>AddDistillGuardDetection</c>.
    /// </summary>
    public static IServiceCollection AddDistillGuardSemantics(this IServiceCollection services, GatewaySemanticOptions? settings = null)
    {
        services.TryAddSingleton(settings ?? new GatewaySemanticOptions());
        services.AddSingleton<SemanticWorker>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<SemanticWorker>());
        return services;
    }
}
