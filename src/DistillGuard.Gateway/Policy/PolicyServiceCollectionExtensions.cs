using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Engine;
using DistillGuard.Gateway.Admin;
using DistillGuard.Gateway.Detection;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Usage;
using DistillGuard.Gateway.Watermarking;
using DistillGuard.Storage.Policy;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using DistillGuard.Watermarking.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Policy;

/// <summary>Wires the response ladder into the gateway: policy file, decisions, enforcement, review queue and audit.</summary>
public static class PolicyServiceCollectionExtensions
{
    /// <summary>Adds the policy; call after detection (it decorates the risk source) and before watermarking (it decides the watermark per account).</summary>
    public static IServiceCollection AddDistillGuardPolicy(this IServiceCollection services, GatewayOptions options, string dataDirectory)
    {
        services.TryAddSingleton(new PolicyHostOptions());
        services.AddSingleton(sp => new PolicyProvider(options.PolicyFile, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PolicyProvider>>()));
        services.AddSingleton<PolicyState>();
        services.AddSingleton<IPolicyStore>(sp => SqlitePolicyStore.Open(dataDirectory, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("DistillGuard.Storage")));
        services.AddSingleton(sp => new CampaignGraph(sp.GetRequiredService<DetectionEngine>().Calibration, sp.GetService<CampaignOptions>()));
        services.AddSingleton<CampaignFeed>();
        services.TryAddSingleton<IUsageHistory>(sp => sp.GetRequiredService<IUsageEventStore>());
        services.AddSingleton<IUsageObserver>(sp => sp.GetRequiredService<CampaignFeed>());
        services.AddSingleton<PolicyWorker>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<PolicyWorker>());
        services.AddSingleton<PolicyEnforcement>();
        services.AddSingleton<AnalystActions>();
        services.AddSingleton<IAccountRiskSource>(sp => new PolicyRiskSource(
            new EngineRiskSource(sp.GetRequiredService<DetectionEngine>(), sp.GetRequiredService<TimeProvider>()),
            sp.GetRequiredService<PolicyState>(),
            sp.GetRequiredService<CampaignGraph>()));
        services.AddSingleton<IWatermarkPolicy>(sp => new PolicyWatermark(
            new ConfiguredWatermarkPolicy(options.Watermark, sp.GetRequiredService<WatermarkKeyring>()),
            options.Watermark,
            sp.GetRequiredService<WatermarkKeyring>(),
            sp.GetRequiredService<PolicyState>(),
            sp.GetRequiredService<PolicyProvider>()));
        return services;
    }
}

/// <summary>The admin API's risk view with the ladder's applied actions in <c>action</c>.</summary>
internal sealed class PolicyRiskSource(IAccountRiskSource detection, PolicyState state, CampaignGraph campaigns) : IAccountRiskSource
{
    public AccountRisk? GetRisk(string accountId)
    {
        var risk = detection.GetRisk(accountId);
        if (risk is not null && campaigns.CampaignOf(accountId) is { } campaign)
        {
            risk = risk with { CampaignId = campaign };
        }

        var decision = state.DecisionFor(accountId);
        if (decision.IsPassive)
        {
            return risk;
        }

        // An account the ladder holds in the review band or above (its review still open, or its campaign's band) is
        // flagged, whatever its own current score: "flagged" is what the queue shows, not only the detector's latest look.
        var applied = decision.Applied.Where(a => a != DistillGuard.Policy.Ladder.LadderAction.Monitor).ToHashSet();
        var shown = risk ?? new AccountRisk(0, "unscored", false, [], "none", decision.CampaignId);
        return shown with { Action = PolicyWorker.Names(applied), Flagged = shown.Flagged || decision.Band >= DistillGuard.Policy.Ladder.RiskBand.Review };
    }
}
