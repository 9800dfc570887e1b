using System.Net;
using Garnet;
using Garnet.server;

namespace DistillGuard.SharedState.Tests.Servers;

/// <summary>A Garnet server hosted in this process on a free loopback port, with Lua enabled (it is off by default).</summary>
public sealed class GarnetInProcess : IDisposable
{
    private readonly GarnetServer _server;

    private GarnetInProcess(GarnetServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port},abortConnect=false";

    public static GarnetInProcess Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = RedisServerProcess.FreePort();
            GarnetServer? server = null;
            try
            {
                server = new GarnetServer(new GarnetServerOptions
                {
                    EndPoints = [new IPEndPoint(IPAddress.Loopback, port)],
                    EnableLua = true,
                    // Without it Garnet runs scripts without locking their keys, and two replicas' scripts interleave.
                    LuaTransactionMode = true,
                    LuaOptions = new LuaOptions(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance),
                    QuietMode = true,
                    IndexMemorySize = "16m",
                    LogMemorySize = "256m",
                });
                server.Start();
                return new GarnetInProcess(server, port);
            }
            catch (Exception) when (attempt < 4)
            {
                server?.Dispose();
            }
        }
    }

    public void Dispose() => _server.Dispose();
}
