using BenchmarkDotNet.Running;
using DistillGuard.Benchmarks.Campaigns;

if (args is ["campaign-timeline", .. var rest])
{
    return await CampaignTimeline.RunAsync(rest);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
