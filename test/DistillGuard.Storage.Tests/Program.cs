using DistillGuard.Storage.Tests.Usage;

namespace DistillGuard.Storage.Tests;

/// <summary>Entry point used only by <see cref="UsageLogCrashTests"/>: runs the crash workload in a child process.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["crash-child", var directory, var killAfterBatches])
        {
            await CrashChild.RunAsync(directory, int.Parse(killAfterBatches, System.Globalization.CultureInfo.InvariantCulture));
            return 0;
        }

        await Console.Error.WriteLineAsync("This assembly holds tests; run it with 'dotnet test'.");
        return 2;
    }
}
