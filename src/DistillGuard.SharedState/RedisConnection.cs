using StackExchange.Redis;

namespace DistillGuard.SharedState;

/// <summary>Opens the connection to the shared Redis-protocol server.</summary>
public static class RedisConnection
{
    /// <summary>
    /// Connects with <paramref name="configuration"/> (a StackExchange.Redis configuration string). Unless the string
    /// says <c>abortConnect=true</c>, a server that is down does not stop the gateway: it starts, each call fails fast
    /// while the server is away, and the client reconnects in the background.
    /// </summary>
    public static ConnectionMultiplexer Open(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        if (!configuration.Contains("abortConnect", StringComparison.OrdinalIgnoreCase))
        {
            options.AbortOnConnectFail = false;
        }

        options.ClientName ??= "distillguard";
        return ConnectionMultiplexer.Connect(options);
    }
}
