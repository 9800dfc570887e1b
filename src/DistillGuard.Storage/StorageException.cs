using Microsoft.Data.Sqlite;
using Npgsql;

namespace DistillGuard.Storage;

/// <summary>A storage operation failed in a way the caller can handle (disk full, database locked, I/O error, corrupt or newer schema).</summary>
/// <remarks>The message names the database file and what was rolled back; <see cref="Exception.InnerException"/> carries the provider's exception.</remarks>
public sealed class StorageException : Exception
{
    /// <summary>Creates an exception with a message and the provider's exception.</summary>
    public StorageException(string message, Exception? innerException = null, bool isTransient = false)
        : base(message, innerException) => IsTransient = isTransient;

    /// <summary>True when retrying later can succeed (disk full, busy, locked, I/O error); false for corruption or schema mismatch.</summary>
    public bool IsTransient { get; }

    internal static StorageException FromSqlite(SqliteException ex, string operation, string path, string consequence)
    {
        var (what, transient) = (ex.SqliteErrorCode & 0xFF) switch
        {
            5 => ("database is busy", true),                      // SQLITE_BUSY
            6 => ("database table is locked", true),              // SQLITE_LOCKED
            8 => ("database is read-only", false),                // SQLITE_READONLY
            10 => ("disk I/O error", true),                       // SQLITE_IOERR
            11 => ("database file is corrupt", false),            // SQLITE_CORRUPT
            13 => ("disk or database is full", true),             // SQLITE_FULL
            14 => ("database file cannot be opened", false),      // SQLITE_CANTOPEN
            19 => ("constraint violated", false),                 // SQLITE_CONSTRAINT
            26 => ("file is not a database", false),              // SQLITE_NOTADB
            _ => ("SQLite error", false),
        };
        return new StorageException(
            $"{operation} in '{path}' failed: {what} (SQLite error {ex.SqliteErrorCode}, extended {ex.SqliteExtendedErrorCode}); {consequence}",
            ex,
            transient);
    }

    internal static StorageException FromPostgres(NpgsqlException ex, string operation, string database, string consequence)
    {
        // Class 53 (insufficient resources: disk full, out of memory, too many connections) clears on its own like SQLITE_FULL.
        var transient = ex.IsTransient || ex is PostgresException { SqlState: ['5', '3', ..] };
        var what = ex is PostgresException pg
            ? $"{pg.MessageText} (SQLSTATE {pg.SqlState})"
            : ex.Message.TrimEnd('.');
        return new StorageException($"{operation} in '{database}' failed: {what}; {consequence}", ex, transient);
    }
}
