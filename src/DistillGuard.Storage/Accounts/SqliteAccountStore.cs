using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Storage.Accounts;

/// <summary>Accounts and API key hashes in <c>accounts.db</c>; authentication is served from an in-memory map loaded at open.</summary>
/// <remarks>
/// Thread safety: all members may be called concurrently. A file separate from <c>usage.db</c> means authentication and account
/// writes never wait on the usage log's write lock.
/// </remarks>
internal sealed partial class SqliteAccountStore : IAccountStore
{
    public const string FileName = "accounts.db";
    public const string DefaultTier = "standard";

    private static readonly SqliteMigration[] Migrations =
    [
        new(1, "accounts and api_keys", """
            CREATE TABLE accounts (
                id                        TEXT    PRIMARY KEY,
                org                       TEXT,
                tier                      TEXT    NOT NULL,
                verified                  INTEGER NOT NULL,
                payment_fingerprint_hash  TEXT,
                created_at                INTEGER NOT NULL
            );
            CREATE TABLE api_keys (
                key_hash    TEXT    PRIMARY KEY,
                key_id      TEXT    NOT NULL,
                account_id  TEXT    NOT NULL REFERENCES accounts (id),
                created_at  INTEGER NOT NULL
            );
            CREATE INDEX ix_api_keys_account ON api_keys (account_id);
            -- Not unique: 48 bits of a hash can collide, and a collision must not refuse a valid key.
            CREATE INDEX ix_api_keys_key_id ON api_keys (key_id);
            CREATE INDEX ix_accounts_payment ON accounts (payment_fingerprint_hash);
            """),
    ];

    private readonly SqliteDatabase _database;
    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<KeyHash, AuthenticatedAccount> _byKey;
    private readonly byte[]? _paymentKey;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private bool _disposed;

    private SqliteAccountStore(
        SqliteDatabase database, ConcurrentDictionary<KeyHash, AuthenticatedAccount> byKey, byte[]? paymentKey, TimeProvider time, ILogger logger)
    {
        _database = database;
        _writer = database.OpenConnection();
        _byKey = byKey;
        _paymentKey = paymentKey;
        _time = time;
        _logger = logger;
    }

    /// <summary>Full path of the database file.</summary>
    public string Path => _database.Path;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex AccountIdPattern();

    /// <summary>Opens (creating and migrating if needed) <c>accounts.db</c> and loads every key hash into memory.</summary>
    public static SqliteAccountStore Open(string directory, StorageOptions options, TimeProvider time, ILogger logger)
    {
        var database = SqliteDatabase.Open(
            System.IO.Path.Combine(directory, FileName), options.BusyTimeout, Migrations, time, logger);
        var byKey = new ConcurrentDictionary<KeyHash, AuthenticatedAccount>();
        var accounts = 0;
        try
        {
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT k.key_hash, k.key_id, a.id, a.org, a.tier, a.verified, a.payment_fingerprint_hash, a.created_at
                FROM api_keys k JOIN accounts a ON a.id = k.account_id;
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                byKey[KeyHash.FromHex(reader.GetString(0))] = new AuthenticatedAccount(ReadAccount(reader, 2), reader.GetString(1));
            }

            using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM accounts;";
            accounts = Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (SqliteException ex)
        {
            throw StorageException.FromSqlite(ex, "Loading API keys", database.Path, "the account store was not opened.");
        }

        StorageLog.AccountsLoaded(logger, byKey.Count, accounts, database.Path);
        return new SqliteAccountStore(database, byKey, options.PaymentFingerprintKey?.ToArray(), time, logger);
    }

    /// <summary>Throws when an account id does not match <c>^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$</c>.</summary>
    public static void ValidateAccountId(string? id, string parameterName)
    {
        if (id is null || !AccountIdPattern().IsMatch(id))
        {
            var shown = id is null ? "null" : $"'{(id.Length > 64 ? id[..64] + "…" : id)}' ({id.Length} characters)";
            throw new ArgumentException(
                $"Account id {shown} is invalid: it must be 1–128 characters, start with a letter or digit, and contain only letters, digits and . _ @ : - (pattern ^[A-Za-z0-9][A-Za-z0-9._@:-]{{0,127}}$).",
                parameterName);
        }
    }

    /// <inheritdoc />
    public async Task<CreatedAccount> CreateAsync(NewAccount account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ValidateAccountId(account.Id, nameof(account));
        if (account.ApiKey is not null)
        {
            ApiKey.Validate(account.ApiKey, nameof(account));
        }

        var tier = account.Tier ?? DefaultTier;
        if (tier.Length is 0 or > 64 || tier.Any(c => c is < '!' or > '~'))
        {
            throw new ArgumentException(
                $"Tier '{(tier.Length > 64 ? tier[..64] + "…" : tier)}' is invalid: it must be 1–64 printable ASCII characters without spaces.",
                nameof(account));
        }

        if (account.Org is { Length: > 256 } org)
        {
            throw new ArgumentException($"Org must be at most 256 characters; got {org.Length}.", nameof(account));
        }

        var paymentHash = account.PaymentFingerprint is null ? null : HashPaymentFingerprint(account.PaymentFingerprint);
        var apiKey = account.ApiKey ?? ApiKey.Issue();
        var keyHash = ApiKey.Hash(apiKey);
        var keyHashHex = keyHash.ToHex();
        var keyId = keyHash.KeyId();
        var now = TruncateToMilliseconds(_time.GetUtcNow());
        var created = new Account
        {
            Id = account.Id,
            Org = account.Org,
            Tier = tier,
            Verified = account.Verified,
            PaymentFingerprintHash = paymentHash,
            CreatedAt = account.CreatedAt is { } at ? TruncateToMilliseconds(at) : now,
        };

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            InsertLocked(created, keyHashHex, keyId, now);
            // Published after the commit: a key authenticates only once it is durable.
            _byKey[keyHash] = new AuthenticatedAccount(created, keyId);
        }
        finally
        {
            _writeLock.Release();
        }

        StorageLog.AccountCreated(_logger, created.Id, keyId);
        return new CreatedAccount(created, apiKey, keyId);
    }

    private void InsertLocked(Account account, string keyHashHex, string keyId, DateTimeOffset now)
    {
        try
        {
            using var transaction = _writer.BeginTransaction(deferred: false);
            using (var exists = _writer.CreateCommand())
            {
                exists.Transaction = transaction;
                exists.CommandText = "SELECT 1 FROM accounts WHERE id = $id;";
                exists.Parameters.AddWithValue("$id", account.Id);
                if (exists.ExecuteScalar() is not null)
                {
                    throw new AccountConflictException($"Account '{account.Id}' already exists.");
                }
            }

            using (var keyExists = _writer.CreateCommand())
            {
                keyExists.Transaction = transaction;
                keyExists.CommandText = "SELECT 1 FROM api_keys WHERE key_hash = $hash;";
                keyExists.Parameters.AddWithValue("$hash", keyHashHex);
                if (keyExists.ExecuteScalar() is not null)
                {
                    throw new AccountConflictException($"The supplied API key ({keyId}) is already registered to another account.");
                }
            }

            using (var insert = _writer.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = """
                    INSERT INTO accounts (id, org, tier, verified, payment_fingerprint_hash, created_at)
                    VALUES ($id, $org, $tier, $verified, $payment, $created);
                    INSERT INTO api_keys (key_hash, key_id, account_id, created_at) VALUES ($hash, $keyId, $id, $now);
                    """;
                insert.Parameters.AddWithValue("$id", account.Id);
                insert.Parameters.AddWithValue("$org", (object?)account.Org ?? DBNull.Value);
                insert.Parameters.AddWithValue("$tier", account.Tier);
                insert.Parameters.AddWithValue("$verified", account.Verified ? 1 : 0);
                insert.Parameters.AddWithValue("$payment", (object?)account.PaymentFingerprintHash ?? DBNull.Value);
                insert.Parameters.AddWithValue("$created", account.CreatedAt.ToUnixTimeMilliseconds());
                insert.Parameters.AddWithValue("$hash", keyHashHex);
                insert.Parameters.AddWithValue("$keyId", keyId);
                insert.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            // Another process inserted the same id or key between our checks and the insert.
            throw new AccountConflictException($"Account '{account.Id}' or its API key ({keyId}) already exists.");
        }
        catch (SqliteException ex)
        {
            throw StorageException.FromSqlite(
                ex, $"Creating account '{account.Id}'", Path, "the transaction was rolled back and the account does not exist.");
        }
    }

    /// <inheritdoc />
    public ValueTask<AuthenticatedAccount?> AuthenticateAsync(string apiKey, CancellationToken cancellationToken)
    {
        // Malformed keys are rejected before hashing; well-formed ones are looked up by hash, never by the key itself.
        if (!ApiKey.IsWellFormed(apiKey))
        {
            return ValueTask.FromResult<AuthenticatedAccount?>(null);
        }

        return ValueTask.FromResult(_byKey.TryGetValue(ApiKey.Hash(apiKey), out var found) ? found : null);
    }

    /// <inheritdoc />
    public async Task<Account?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = _database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, org, tier, verified, payment_fingerprint_hash, created_at FROM accounts WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadAccount(reader, 0) : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Account>> ListAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = _database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, org, tier, verified, payment_fingerprint_hash, created_at FROM accounts ORDER BY id;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var accounts = new List<Account>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            accounts.Add(ReadAccount(reader, 0));
        }

        return accounts;
    }

    /// <summary>HMAC-SHA256 of a payment fingerprint under the configured key, lower-case hex.</summary>
    /// <exception cref="InvalidOperationException">No <see cref="StorageOptions.PaymentFingerprintKey"/> is configured.</exception>
    public string HashPaymentFingerprint(string fingerprint)
    {
        if (_paymentKey is null)
        {
            throw new InvalidOperationException(
                "A payment fingerprint was supplied but StorageOptions.PaymentFingerprintKey is not set; it cannot be stored without its keyed hash.");
        }

        return Convert.ToHexStringLower(HMACSHA256.HashData(_paymentKey, Encoding.UTF8.GetBytes(fingerprint)));
    }

    private static Account ReadAccount(SqliteDataReader r, int o) => new()
    {
        Id = r.GetString(o),
        Org = r.IsDBNull(o + 1) ? null : r.GetString(o + 1),
        Tier = r.GetString(o + 2),
        Verified = r.GetInt64(o + 3) != 0,
        PaymentFingerprintHash = r.IsDBNull(o + 4) ? null : r.GetString(o + 4),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(o + 5)),
    };

    private static DateTimeOffset TruncateToMilliseconds(DateTimeOffset value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _writer.DisposeAsync().ConfigureAwait(false);
            _database.ReleasePool(_writer);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
