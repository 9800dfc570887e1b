using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Hosting;

/// <summary>The data directory holds prompts, key hashes and secrets: nobody but its owner reads it.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryTests
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task Start_NewDataDirectory_IsOwnerOnly_AndEveryDatabaseFileIs0600()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = await gateway.CreateAccountAsync("una");
        using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", """{"model":"dg-teacher","messages":[{"role":"user","content":"x"}],"max_tokens":2}""", key));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(gateway.DataDirectory));
        var databases = Directory.GetFiles(gateway.DataDirectory, "*.db*", SearchOption.AllDirectories);
        Assert.Contains(databases, f => f.EndsWith("usage.db", StringComparison.Ordinal));
        Assert.Contains(databases, f => f.EndsWith("accounts.db-wal", StringComparison.Ordinal));
        Assert.All(databases, f => Assert.True(File.GetUnixFileMode(f) == OwnerReadWrite, $"{Path.GetFileName(f)} is {File.GetUnixFileMode(f)}"));
    }

    [Fact]
    public void RestrictDatabaseFiles_TightensExistingDatabases_AndLeavesOtherFilesAlone()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dg-mode-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(directory, "intel"));
        try
        {
            var readable = OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            foreach (var name in new[] { "usage.db", "usage.db-wal", Path.Combine("intel", "intel.db-shm"), "notes.dbx", "policy.json" })
            {
                File.WriteAllText(Path.Combine(directory, name), "");
                File.SetUnixFileMode(Path.Combine(directory, name), readable);
            }

            Assert.Equal(3, DataDirectory.RestrictDatabaseFiles(directory));
            Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(Path.Combine(directory, "usage.db")));
            Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(Path.Combine(directory, "intel", "intel.db-shm")));
            Assert.Equal(readable, File.GetUnixFileMode(Path.Combine(directory, "policy.json")));
            Assert.Equal(readable, File.GetUnixFileMode(Path.Combine(directory, "notes.dbx")));
            Assert.Equal(0, DataDirectory.RestrictDatabaseFiles(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
