namespace DistillGuard.Gateway.Hosting;

/// <summary>Whether the process runs socket completions on the socket event threads or queues them to the thread pool.</summary>
/// <remarks>
/// .NET reads <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c> once, when the process opens its first socket, and the
/// switch is process-wide: it must be applied before anything networks, which is why <c>serve</c> does it first thing and
/// a gateway hosted inside another program leaves it to that program. A value already in the environment (the
/// operator's) wins.
/// </remarks>
public static class SocketCompletions
{
    /// <summary>The runtime's environment variable.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Sets the switch for this process unless the environment already has it; returns whether completions run inline.</summary>
    public static bool Apply(bool inline)
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } set)
        {
            return set == "1";
        }

        Environment.SetEnvironmentVariable(Variable, inline ? "1" : "0");
        return inline;
    }
}
