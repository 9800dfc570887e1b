using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DistillGuard.SharedState.Tests.Servers;

/// <summary>A real <c>redis-server</c> on a free loopback port, without persistence, stopped on dispose.</summary>
/// <remarks>
/// CI installs Debian's <c>redis-server</c> (.ci/run); where it is missing this throws with the install command, so a
/// test that needs it fails rather than skips.
/// </remarks>
public sealed class RedisServerProcess : IDisposable
{
    private readonly Process _process;

    private RedisServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port},abortConnect=false";

    public static RedisServerProcess Start()
    {
        var binary = FindOnPath("redis-server")
            ?? throw new InvalidOperationException("redis-server is not installed; install it with: apt-get install -y redis-server (.ci/run does this in CI)");

        // The port is free when probed; another process may take it before redis-server binds, so try a few.
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var start = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no" })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
            process.OutputDataReceived += static (_, _) => { };
            process.ErrorDataReceived += static (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (WaitForPort(port, process, TimeSpan.FromSeconds(10)))
            {
                return new RedisServerProcess(process, port);
            }

            process.Kill();
            process.Dispose();
            if (attempt == 4)
            {
                throw new InvalidOperationException($"redis-server did not listen on a free port after {attempt + 1} attempts");
            }
        }
    }

    /// <summary>A loopback port no one listened on a moment ago.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static bool WaitForPort(int port, Process process, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && !process.HasExited)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        return false;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
