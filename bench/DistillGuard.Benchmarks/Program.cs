using BenchmarkDotNet.Running;
using DistillGuard.Benchmarks;
using DistillGuard.Benchmarks.Campaigns;

if (args is ["campaign-timeline", .. var rest])
{
    return await CampaignTimeline.RunAsync(rest);
}

if (args is ["detection-rebuild", .. var rebuild])
{
    return await DetectionRebuild.RunAsync(rebuild);
}

if (args is ["dashboard-ranking", .. var ranking])
{
    return await DashboardRanking.RunAsync(ranking);
}

if (args is ["engine-detector-cpu", .. var cpu])
{
    return EngineDetectorCpuTime.Run(cpu);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
