using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace DistillGuard.Storage.Tests.Servers;

/// <summary>
/// A real PostgreSQL server of its own: <c>initdb</c> into a temporary directory and <c>postgres</c> on a free loopback
/// port, stopped and deleted on dispose. Run as the <c>postgres</c> user when the tests run as root (initdb refuses root).
/// </summary>
/// <remarks>
/// CI installs Debian's <c>postgresql</c> (.ci/run); where it is missing this throws with the install command, so a test
/// that needs it fails rather than skips. The server runs with <c>fsync=off</c>: these are contract tests, not a
/// durability test, and a sync per commit would make them slow on a shared disk.
/// </remarks>
public sealed class PostgresServer : IDisposable
{
    private const string User = "dg";
    private readonly string _root;
    private readonly Func<int, Process> _launch;
    private Process _process;

    private PostgresServer(Process process, string root, int port, Func<int, Process> launch)
    {
        _process = process;
        _root = root;
        _launch = launch;
        Port = port;
    }

    public int Port { get; }

    /// <summary>A connection string for the server's <c>postgres</c> database as its superuser.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username={User};Database=postgres;Pooling=true";

    public static PostgresServer Start()
    {
        var bin = FindBinaries()
            ?? throw new InvalidOperationException("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH); install it with: apt-get install -y postgresql (.ci/run does this in CI)");
        var root = Path.Combine(Path.GetTempPath(), "dg-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        if (runAs is not null && !OperatingSystem.IsWindows())
        {
            // initdb creates the data directory itself, owned by the user it runs as; the parent only has to be writable.
            File.SetUnixFileMode(root, (UnixFileMode)0x1FF);
        }

        var data = Path.Combine(root, "data");
        Run(runAs, Path.Combine(bin, "initdb"), ["-D", data, "-U", User, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);

        for (var attempt = 0; ; attempt++)
        {
            // The port is free when probed; another process may take it before postgres binds, so try a few.
            var port = FreePort();
            Process launch(int p) => Launch(runAs, Path.Combine(bin, "postgres"),
            [
                "-D", data, "-p", p.ToString(CultureInfo.InvariantCulture), "-k", root, "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB",
            ]);
            var process = launch(port);
            if (WaitUntilReady(port, process, TimeSpan.FromSeconds(30)))
            {
                return new PostgresServer(process, root, port, launch);
            }

            Stop(process);
            process.Dispose();
            if (attempt == 4)
            {
                throw new InvalidOperationException($"postgres did not accept connections on a free port after {attempt + 1} attempts");
            }
        }
    }

    /// <summary>Stops the server (fast shutdown); its data stays for <see cref="Restart"/>.</summary>
    public void Shutdown()
    {
        NpgsqlConnection.ClearAllPools();
        Stop(_process);
    }

    /// <summary>Starts the stopped server again on the same port and data.</summary>
    public void Restart()
    {
        _process.Dispose();
        _process = _launch(Port);
        if (!WaitUntilReady(Port, _process, TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException($"postgres did not come back on port {Port}");
        }
    }

    /// <summary>A fresh schema; the returned connection string puts it first on the search path.</summary>
    public string CreateSchema()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N")[..12];
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand($"CREATE SCHEMA {schema};", connection);
        command.ExecuteNonQuery();
        return ConnectionString + $";Search Path={schema}";
    }

    /// <summary>The first directory holding <c>initdb</c>: the newest <c>/usr/lib/postgresql/N/bin</c> (Debian), else PATH.</summary>
    public static string? FindBinaries()
    {
        const string debian = "/usr/lib/postgresql";
        var candidates = Directory.Exists(debian)
            ? Directory.GetDirectories(debian)
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin"))
            : [];
        return candidates
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")));
    }

    private static void Run(string? runAs, string binary, string[] arguments)
    {
        using var process = Launch(runAs, binary, arguments);
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(binary)} failed (exit {(process.HasExited ? process.ExitCode : -1)})");
        }
    }

    // setpriv execs the binary under the user, so the process we hold is postgres itself (runuser and su would stay in between).
    private static Process Launch(string? runAs, string binary, string[] arguments)
    {
        var start = new ProcessStartInfo(runAs is null ? binary : "setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (runAs is not null)
        {
            foreach (var argument in new[] { $"--reuid={runAs}", $"--regid={runAs}", "--init-groups", "--", binary })
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{binary} did not start");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>A loopback port no one listened on a moment ago.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static bool WaitUntilReady(int port, Process process, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var connectionString = $"Host=127.0.0.1;Port={port};Username={User};Database=postgres;Pooling=false;Timeout=2";
        while (deadline.Elapsed < timeout && !process.HasExited)
        {
            try
            {
                using var connection = new NpgsqlConnection(connectionString);
                connection.Open();
                return true;
            }
            catch (NpgsqlException)
            {
                // Not listening yet, or "the database system is starting up".
                Thread.Sleep(100);
            }
        }

        return false;
    }

    private static void Stop(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        // SIGINT: PostgreSQL's fast shutdown (backends end, shared memory released); SIGKILL only if it hangs.
        using (var signal = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            signal.WaitForExit();
        }

        if (!process.WaitForExit(TimeSpan.FromSeconds(15)))
        {
            process.Kill();
            process.WaitForExit(5000);
        }
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        Stop(_process);
        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A backend may still be exiting; the OS temp cleaner takes what is left.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
