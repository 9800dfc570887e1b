using System.Diagnostics;
using System.Globalization;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging.Abstractions;

/// <summary>
/// Usage events per second into each store, in one run: the same batches appended to SQLite (<c>usage.db</c> in a temporary
/// directory) and to PostgreSQL (binary COPY), rounds interleaved so both see the same machine load.
/// </summary>
internal static class EventThroughput
{
    public static async Task<int> RunAsync(string postgres, int events, int batchSize, int rounds)
    {
        if (string.IsNullOrEmpty(postgres))
        {
            await Console.Error.WriteLineAsync("--scenario events needs --postgres \"<Npgsql connection string>\" (scripts/scale-local.sh start prints one)");
            return 2;
        }

        var batches = Batches(events, batchSize, DateTimeOffset.UtcNow);
        var directory = Path.Combine(Path.GetTempPath(), "dg-events-" + Guid.NewGuid().ToString("N"));
        var sqlite = new List<double>();
        var postgresRates = new List<double>();
        var sqliteCpu = new List<double>();
        var postgresCpu = new List<double>();
        try
        {
            await using var storage = SqliteStorage.Open(directory, new StorageOptions(), TimeProvider.System, NullLoggerFactory.Instance);
            await using var pg = await PostgresUsageEventStore.OpenAsync(
                new PostgresStorageOptions { ConnectionString = postgres }, TimeProvider.System, NullLogger.Instance, default);
            var before = await pg.CountAsync(default);
            var postmaster = await ServerProcessAsync(postgres);
            for (var round = 0; round < rounds; round++)
            {
                // Each round writes new request ids, so neither store meets a key it already holds.
                var tag = $"r{round}-{Guid.NewGuid():N}"[..12];
                var roundBatches = batches.Select(b => b.Select(e => e with { RequestId = tag + e.RequestId }).ToList()).ToList();
                var (rate, cpu) = await AppendAllAsync(storage.UsageEvents, roundBatches, null);
                sqlite.Add(rate);
                sqliteCpu.Add(cpu);
                (rate, cpu) = await AppendAllAsync(pg, roundBatches, postmaster);
                postgresRates.Add(rate);
                postgresCpu.Add(cpu);
                Console.Error.WriteLine($"round {round + 1}: SQLite {sqlite[^1]:N0}/s ({sqliteCpu[^1]:N0} per CPU-second), PostgreSQL {postgresRates[^1]:N0}/s ({postgresCpu[^1]:N0} per CPU-second)");
            }

            var stored = await pg.CountAsync(default) - before;
            Console.WriteLine($"| store | events/s, wall clock (median of {rounds} rounds of {events:N0}, batches of {batchSize}) | events per CPU-second, all processes (median) | rounds (wall clock) |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| SQLite (usage.db, WAL, synchronous=NORMAL) | {Median(sqlite):N0} | {Median(sqliteCpu):N0} | {string.Join(", ", sqlite.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| PostgreSQL ({pg.DatabaseName}, binary COPY) | {Median(postgresRates):N0} | {(postmaster is null ? "n/a (server not on this machine)" : Median(postgresCpu).ToString("N0", CultureInfo.InvariantCulture))} | {string.Join(", ", postgresRates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PostgreSQL rows added: {stored:N0} of {(long)events * rounds:N0} sent; ratio PostgreSQL / SQLite {Median(postgresRates) / Median(sqlite):F2}."));
            return stored == (long)events * rounds ? 0 : 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    // Events per wall-clock second, and per CPU-second of this process plus (for a local PostgreSQL) every server process:
    // the machine is shared, so the second figure is the one that says what an idle core would do.
    private static async Task<(double Rate, double PerCpuSecond)> AppendAllAsync(IUsageEventStore store, List<List<UsageEvent>> batches, int? postmaster)
    {
        var count = 0;
        using var self = Process.GetCurrentProcess();
        var self0 = self.TotalProcessorTime.TotalSeconds;
        var server0 = ServerCpuSeconds(postmaster);
        var clock = Stopwatch.StartNew();
        foreach (var batch in batches)
        {
            await store.AppendAsync(batch, default);
            count += batch.Count;
        }

        var wall = clock.Elapsed.TotalSeconds;
        self.Refresh();
        var client = self.TotalProcessorTime.TotalSeconds - self0;
        var server = ServerCpuSeconds(postmaster) - server0;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {count:N0} events: {wall:F2} s wall clock; CPU {client:F2} s in this process, {server:F2} s in the server"));
        return (count / wall, count / (client + server));
    }

    // The postmaster of a server on this machine: the parent of our backend (null when the server is elsewhere).
    private static async Task<int?> ServerProcessAsync(string connectionString)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT pg_backend_pid();", connection);
        var backend = (int)(await command.ExecuteScalarAsync())!;
        var stat = $"/proc/{backend}/stat";
        return File.Exists(stat) ? int.Parse(Fields(File.ReadAllText(stat))[1], CultureInfo.InvariantCulture) : null;
    }

    // utime + stime of the postmaster and all its children (backends, WAL writer, checkpointer), in seconds.
    private static double ServerCpuSeconds(int? postmaster)
    {
        if (postmaster is not { } root)
        {
            return 0;
        }

        long ticks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var fields = Fields(File.ReadAllText(Path.Combine(directory, "stat")));
                var pid = int.Parse(Path.GetFileName(directory), CultureInfo.InvariantCulture);
                if (pid == root || int.Parse(fields[1], CultureInfo.InvariantCulture) == root)
                {
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // Not a process directory, or the process ended meanwhile.
            }
        }

        return ticks / 100.0; // USER_HZ
    }

    // The fields of /proc/PID/stat after the command name (which may hold spaces): [0] is the state, [1] the parent pid.
    private static string[] Fields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    // Events as the gateway records them: 1,000 accounts, a prompt of about 120 characters, one millisecond apart.
    private static List<List<UsageEvent>> Batches(int events, int batchSize, DateTimeOffset start)
    {
        var batches = new List<List<UsageEvent>>();
        for (var i = 0; i < events; i += batchSize)
        {
            var batch = new List<UsageEvent>(batchSize);
            for (var j = i; j < Math.Min(events, i + batchSize); j++)
            {
                batch.Add(new UsageEvent
                {
                    RequestId = "-req-" + j.ToString(CultureInfo.InvariantCulture),
                    Timestamp = start.AddMilliseconds(j),
                    AccountId = "acct-" + (j % 1_000).ToString(CultureInfo.InvariantCulture),
                    KeyId = "key_" + (j % 1_000).ToString("x12", CultureInfo.InvariantCulture),
                    ClientAddress = "203.0.113." + (j % 250).ToString(CultureInfo.InvariantCulture),
                    UserAgent = "OpenAI/Python 1.54.0",
                    Endpoint = "chat.completions",
                    Api = "chat.completions",
                    Model = "llama-3.1-8b-instruct",
                    Stream = j % 3 == 0,
                    Temperature = 0.7,
                    TopP = 1,
                    MaxTokens = 256,
                    N = 1,
                    Logprobs = j % 10 == 0,
                    TopLogprobs = j % 10 == 0 ? 5 : null,
                    StopCount = 0,
                    PromptTokens = 40 + j % 50,
                    CompletionTokens = 200 + j % 56,
                    LatencyMs = 850.5 + j % 100,
                    TimeToFirstTokenMs = 40.25,
                    Status = 200,
                    FinishReason = "stop",
                    PromptText = "Summarise the history of the county in two sentences, then list three towns founded before 1800 and why. #" + j.ToString(CultureInfo.InvariantCulture),
                });
            }

            batches.Add(batch);
        }

        return batches;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
