using DistillGuard.Gateway.Hosting;

namespace DistillGuard.Gateway.Tests.Hosting;

public sealed class SocketCompletionsTests
{
    // Only the environment variable is checked: the runtime read it when this test process opened its first socket.
    [Fact]
    public void Apply_SetsTheSwitch_UnlessTheOperatorAlreadyHas()
    {
        var before = Environment.GetEnvironmentVariable(SocketCompletions.Variable);
        try
        {
            Environment.SetEnvironmentVariable(SocketCompletions.Variable, null);
            Assert.True(SocketCompletions.Apply(inline: true));
            Assert.Equal("1", Environment.GetEnvironmentVariable(SocketCompletions.Variable));

            Assert.True(SocketCompletions.Apply(inline: false));
            Assert.Equal("1", Environment.GetEnvironmentVariable(SocketCompletions.Variable));

            Environment.SetEnvironmentVariable(SocketCompletions.Variable, null);
            Assert.False(SocketCompletions.Apply(inline: false));
            Assert.Equal("0", Environment.GetEnvironmentVariable(SocketCompletions.Variable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SocketCompletions.Variable, before);
        }
    }

    [Fact]
    public void Default_IsOff()
    {
        Assert.False(new GatewayOptions().InlineSocketCompletions);
    }
}
