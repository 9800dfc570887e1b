using System.Globalization;
using System.Threading.Channels;
using DistillGuard.Threading;

namespace DistillGuard.Storage.Tests.Threading;

public sealed class BackgroundThreadTests
{
    [Fact]
    public async Task Run_KeepsTheLoopOnItsOwnThread_AcrossAwaits_AtTheLowerPriority()
    {
        var channel = Channel.CreateUnbounded<int>();
        var threads = new List<int>();
        string? name = null;
        int? nice = null;
        var loop = BackgroundThread.Run("test loop", async () =>
        {
            name = Thread.CurrentThread.Name;
            threads.Add(Environment.CurrentManagedThreadId);
            await Task.Delay(5);
            threads.Add(Environment.CurrentManagedThreadId);

            // Woken by a writer on another thread, as the usage log's writer is.
            while (await channel.Reader.WaitToReadAsync())
            {
                threads.Add(Environment.CurrentManagedThreadId);
                while (channel.Reader.TryRead(out _))
                {
                }
            }

            nice = OperatingSystem.IsLinux() ? OwnNice() : null;
        });

        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(10);
            Assert.True(channel.Writer.TryWrite(i));
        }

        channel.Writer.Complete();
        await loop;

        Assert.Equal("test loop", name);
        Assert.True(threads.Count >= 3);
        Assert.Single(threads.Distinct());
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads[0]);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(BackgroundThread.Nice, nice);
        }
    }

    [Fact]
    public async Task Run_LoopThatThrows_FaultsItsTask()
    {
        var loop = BackgroundThread.Run("failing loop", async () =>
        {
            await Task.Yield();
            throw new InvalidOperationException("disk full");
        });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop);
        Assert.Equal("disk full", e.Message);
    }

    // Field 19 of /proc/thread-self/stat is the calling thread's nice value; the fields after the command's closing
    // parenthesis start at field 3.
    private static int OwnNice()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], CultureInfo.InvariantCulture);
    }
}
