using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>What a process crash can lose: runs <see cref="CrashChild"/> in a child process that dies by FailFast mid-write.</summary>
public sealed class UsageLogCrashTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(5)]
    [InlineData(40)]
    public async Task ProcessCrash_EveryBatchReportedWrittenSurvives_AndLossIsBoundedByChannelPlusOneBatch(int killAfterBatches)
    {
        var reported = new List<(int First, int Last)>();
        long accepted = -1;
        var output = await RunChildAsync(killAfterBatches);
        foreach (var line in output)
        {
            var parts = line.Split(' ');
            if (parts[0] == "W")
            {
                reported.Add((Number(parts[1]), Number(parts[2])));
            }
            else if (parts[0] == "A")
            {
                accepted = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        Assert.True(reported.Count >= killAfterBatches, $"the child reported {reported.Count} batches before dying: {string.Join('|', output)}");
        Assert.True(accepted > 0, "the child did not report its accepted count before FailFast");
        // The child's connection never closed: the WAL file is what a killed process leaves behind.
        Assert.True(File.Exists(_dir.File("usage.db-wal")));

        await using var connection = new SqliteConnection($"Data Source={_dir.File("usage.db")};Pooling=False");
        await connection.OpenAsync();
        Assert.Equal("ok", await ScalarAsync<string>(connection, "PRAGMA integrity_check;"));
        var ids = new HashSet<int>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT request_id FROM usage_events;";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Assert.True(ids.Add(Number(reader.GetString(0))));
            }
        }

        // 1. Every batch the log reported as written (committed) is in the file.
        foreach (var (first, last) in reported)
        {
            for (var i = first; i <= last; i++)
            {
                Assert.Contains(i, ids);
            }
        }

        // 2. Committed batches are a prefix of the accepted events (one writer, FIFO channel): no hole. Beyond the last
        //    reported batch at most one more can have committed, the one whose report the crash cut off.
        Assert.Equal(Enumerable.Range(0, ids.Count), ids.Order());
        Assert.InRange(ids.Count, reported[^1].Last + 1, reported[^1].Last + 1 + CrashChild.BatchSize);

        // 3. The loss is what was accepted but not committed: at most the channel's contents plus one batch in flight.
        var lost = accepted - ids.Count;
        Assert.InRange(lost, 0, CrashChild.Capacity + CrashChild.BatchSize);
    }

    private static int Number(string requestId) => int.Parse(requestId.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<T> ScalarAsync<T>(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task<List<string>> RunChildAsync(int killAfterBatches)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add("crash-child");
        start.ArgumentList.Add(_dir.Path);
        start.ArgumentList.Add(killAfterBatches.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // No crash dump: FailFast should only end the process.
        start.Environment["DOTNET_DbgEnableMiniDump"] = "0";

        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await child.WaitForExitAsync(timeout.Token);
        var text = await stdout;
        Assert.True(child.ExitCode != 0, $"the child exited cleanly instead of crashing: {await stderr}");
        Assert.Contains("DistillGuard crash test", await stderr);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
    }
}
