namespace DistillGuard.Gateway.Hosting;

/// <summary>The gateway's data directory, kept readable by its owner only: it holds prompts, API-key hashes and secrets.</summary>
/// <remarks>
/// SQLite creates its files with mode 0644 and offers no setting for it, so a database file is tightened once it
/// exists. Its <c>-wal</c> and <c>-shm</c> files, recreated as connections come and go, take the database file's
/// mode (SQLite copies it), so they stay private once the database file is.
/// </remarks>
internal static class DataDirectory
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static readonly string[] s_sqliteSuffixes = [".db", ".db-wal", ".db-shm", ".db-journal"];

    /// <summary>Creates <paramref name="path"/> (mode 0700) when it does not exist; an existing directory keeps its mode.</summary>
    public static string Create(string path)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(full);
            }
            else
            {
                Directory.CreateDirectory(full, OwnerOnlyDirectory);
            }
        }

        return full;
    }

    /// <summary>Sets every SQLite file under <paramref name="path"/> to mode 0600; returns how many it changed.</summary>
    public static int RestrictDatabaseFiles(string path)
    {
        if (OperatingSystem.IsWindows() || !Directory.Exists(path))
        {
            return 0;
        }

        var changed = 0;
        foreach (var file in Directory.EnumerateFiles(path, "*.db*", SearchOption.AllDirectories))
        {
            if (!s_sqliteSuffixes.Any(s => file.EndsWith(s, StringComparison.Ordinal)))
            {
                continue;
            }

            try
            {
                if (File.GetUnixFileMode(file) != OwnerOnlyFile)
                {
                    File.SetUnixFileMode(file, OwnerOnlyFile);
                    changed++;
                }
            }
            catch (FileNotFoundException)
            {
                // A -wal or -shm file removed as its last connection closed.
            }
        }

        return changed;
    }
}
