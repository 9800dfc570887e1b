using DistillGuard.Gateway.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>Wires the watermark into the gateway's container.</summary>
internal static class WatermarkServiceCollectionExtensions
{
    /// <summary>Registers the keyring (from the data directory), the default per-account policy and the detector.</summary>
    /// <remarks>The policy is registered with TryAdd, so the policy engine can register its own <see cref="IWatermarkPolicy"/> first.</remarks>
    public static IServiceCollection AddDistillGuardWatermarking(this IServiceCollection services, GatewayOptions options, string dataDirectory)
    {
        services.AddSingleton(_ => WatermarkSetup.Keyring(options.Watermark, dataDirectory));
        services.TryAddSingleton<IWatermarkPolicy>(sp => new ConfiguredWatermarkPolicy(options.Watermark, sp.GetRequiredService<DistillGuard.Watermarking.Keys.WatermarkKeyring>()));
        services.AddSingleton(_ => new EngineWatermarks(options));
        services.AddSingleton(sp => new EngineWatermarkIngress(
            options.Watermark, sp.GetRequiredService<DistillGuard.Storage.Policy.IPolicyStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new WatermarkDetectionService(
            options.Watermark,
            sp.GetRequiredService<DistillGuard.Watermarking.Keys.WatermarkKeyring>(),
            sp.GetRequiredService<EngineWatermarks>(),
            options.BuiltInModel.Enabled ? options.BuiltInModel.Id : null));
        return services;
    }
}
