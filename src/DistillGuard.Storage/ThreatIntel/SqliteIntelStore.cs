using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Storage.ThreatIntel;

/// <summary>A partner provider allowed to talk to our TAXII server.</summary>
/// <param name="PublicKeyPem">The partner's ECDSA P-256 public key: what it writes must carry its signature.</param>
/// <param name="Trust"><c>low</c>, <c>medium</c> or <c>high</c>: how much the ladder may act on its indicators alone.</param>
/// <param name="WantsSightings">True when the partner wants to hear when its indicators match here.</param>
public sealed record IntelPartner(string Id, string Name, string? PublicKeyPem, string Trust, bool WantsSightings, DateTimeOffset CreatedAt);

/// <summary>A partner's rights on one collection.</summary>
public sealed record CollectionRights(string CollectionId, bool CanRead, bool CanWrite);

/// <summary>One version of one STIX object in a collection.</summary>
/// <param name="Sequence">Insertion order; the server's paging key.</param>
/// <param name="Source">Who put it there: <c>self</c> or a partner id.</param>
public sealed record StoredIntelObject(long Sequence, string CollectionId, string Id, string Type, string Version, DateTimeOffset DateAdded, string Source, string Json);

/// <summary>Filters of a collection read (TAXII 2.1 §3.4).</summary>
/// <param name="Versions">null/<c>last</c>: newest version only; <c>all</c>; <c>first</c>; or explicit timestamps.</param>
public sealed record IntelObjectQuery(
    string CollectionId,
    DateTimeOffset? AddedAfter = null,
    long AfterSequence = 0,
    IReadOnlyCollection<string>? Types = null,
    IReadOnlyCollection<string>? Ids = null,
    IReadOnlyCollection<string>? Versions = null,
    int Limit = 100);

/// <summary>Threat-intel state in <c>intel.db</c> (SQLite, WAL): partners and their credentials, collection rights, STIX objects, pull cursors.</summary>
/// <remarks>Thread-safe: writes are serialised. Partner tokens are stored as SHA-256 hashes only (they are random 256-bit values, so no slow hash is needed).</remarks>
public sealed class SqliteIntelStore : IAsyncDisposable
{
    public const string FileName = "intel.db";

    private static readonly SqliteMigration[] s_migrations =
    [
        new(1, "partners, rights, objects, pull cursors", """
            CREATE TABLE partners (
                id              TEXT PRIMARY KEY,
                name            TEXT NOT NULL,
                token_hash      TEXT NOT NULL UNIQUE,
                public_key_pem  TEXT,
                trust           TEXT NOT NULL,
                wants_sightings INTEGER NOT NULL,
                created_at      INTEGER NOT NULL
            );
            CREATE TABLE rights (
                partner_id    TEXT NOT NULL,
                collection_id TEXT NOT NULL,
                can_read      INTEGER NOT NULL,
                can_write     INTEGER NOT NULL,
                PRIMARY KEY (partner_id, collection_id)
            );
            CREATE TABLE objects (
                seq           INTEGER PRIMARY KEY AUTOINCREMENT,
                collection_id TEXT NOT NULL,
                id            TEXT NOT NULL,
                type          TEXT NOT NULL,
                version       TEXT NOT NULL,
                date_added    INTEGER NOT NULL,
                source        TEXT NOT NULL,
                json          TEXT NOT NULL,
                UNIQUE (collection_id, id, version)
            );
            CREATE INDEX objects_added ON objects (collection_id, date_added, seq);
            CREATE TABLE pull_cursors (
                url         TEXT PRIMARY KEY,
                added_after INTEGER NOT NULL,
                pulled_at   INTEGER NOT NULL
            );
            """),
    ];

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _write = new(1, 1);

    private SqliteIntelStore(SqliteDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>Opens (creating and migrating) <c>intel.db</c> in <paramref name="dataDirectory"/>.</summary>
    /// <exception cref="StorageException">The database cannot be opened or has a newer schema.</exception>
    public static SqliteIntelStore Open(string dataDirectory, TimeProvider time, ILogger logger)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        return new SqliteIntelStore(SqliteDatabase.Open(path, TimeSpan.FromSeconds(5), s_migrations, time, logger), time);
    }

    /// <summary>Adds a partner with its rights; returns its bearer token (shown once; only its hash is kept).</summary>
    /// <exception cref="InvalidOperationException">A partner with this id exists.</exception>
    public Task<string> AddPartnerAsync(IntelPartner partner, IReadOnlyList<CollectionRights> rights, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(partner);
        var token = "dgp-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return WriteAsync((connection, transaction) =>
        {
            using (var exists = Command(connection, transaction, "SELECT 1 FROM partners WHERE id = $id;"))
            {
                exists.Parameters.AddWithValue("$id", partner.Id);
                if (exists.ExecuteScalar() is not null)
                {
                    throw new InvalidOperationException($"A partner '{partner.Id}' exists.");
                }
            }

            using (var insert = Command(connection, transaction, "INSERT INTO partners (id, name, token_hash, public_key_pem, trust, wants_sightings, created_at) VALUES ($id, $n, $t, $k, $trust, $s, $at);"))
            {
                insert.Parameters.AddWithValue("$id", partner.Id);
                insert.Parameters.AddWithValue("$n", partner.Name);
                insert.Parameters.AddWithValue("$t", TokenHash(token));
                insert.Parameters.AddWithValue("$k", (object?)partner.PublicKeyPem ?? DBNull.Value);
                insert.Parameters.AddWithValue("$trust", partner.Trust);
                insert.Parameters.AddWithValue("$s", partner.WantsSightings ? 1 : 0);
                insert.Parameters.AddWithValue("$at", partner.CreatedAt.ToUnixTimeMilliseconds());
                insert.ExecuteNonQuery();
            }

            foreach (var r in rights)
            {
                using var right = Command(connection, transaction, "INSERT INTO rights (partner_id, collection_id, can_read, can_write) VALUES ($p, $c, $r, $w);");
                right.Parameters.AddWithValue("$p", partner.Id);
                right.Parameters.AddWithValue("$c", r.CollectionId);
                right.Parameters.AddWithValue("$r", r.CanRead ? 1 : 0);
                right.Parameters.AddWithValue("$w", r.CanWrite ? 1 : 0);
                right.ExecuteNonQuery();
            }

            return token;
        }, cancellationToken);
    }

    /// <summary>The partner a bearer token belongs to, or null.</summary>
    public IntelPartner? FindPartnerByToken(string token)
    {
        var found = Query($"{SelectPartner} WHERE token_hash = $t;", c => c.Parameters.AddWithValue("$t", TokenHash(token)), ReadPartner);
        return found.Count == 0 ? null : found[0];
    }

    public IntelPartner? FindPartner(string id)
    {
        var found = Query($"{SelectPartner} WHERE id = $id;", c => c.Parameters.AddWithValue("$id", id), ReadPartner);
        return found.Count == 0 ? null : found[0];
    }

    public IReadOnlyList<IntelPartner> ListPartners() => Query($"{SelectPartner} ORDER BY id;", null, ReadPartner);

    /// <summary>The partner's rights on every collection it has any.</summary>
    public IReadOnlyList<CollectionRights> RightsOf(string partnerId) =>
        Query("SELECT collection_id, can_read, can_write FROM rights WHERE partner_id = $p ORDER BY collection_id;",
            c => c.Parameters.AddWithValue("$p", partnerId), r => new CollectionRights(r.GetString(0), r.GetInt64(1) != 0, r.GetInt64(2) != 0));

    /// <summary>
    /// Adds objects (JSON, with id, type and version) to a collection in one transaction: all or nothing. A version already
    /// present is skipped, not duplicated. Returns the stored rows (skipped versions excluded).
    /// </summary>
    public Task<IReadOnlyList<StoredIntelObject>> AddObjectsAsync(string collectionId, string source, IReadOnlyList<(string Id, string Type, string Version, string Json)> objects, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        return WriteAsync<IReadOnlyList<StoredIntelObject>>((connection, transaction) =>
        {
            // date_added is strictly increasing per store, so that added_after paging never skips an object added in the same millisecond.
            long last;
            using (var max = Command(connection, transaction, "SELECT COALESCE(MAX(date_added), 0) FROM objects;"))
            {
                last = (long)max.ExecuteScalar()!;
            }

            var added = new List<StoredIntelObject>();
            var stamp = Math.Max(now.ToUnixTimeMilliseconds() * 1000, last + 1);
            foreach (var o in objects)
            {
                using var insert = Command(connection, transaction, """
                    INSERT INTO objects (collection_id, id, type, version, date_added, source, json) VALUES ($c, $id, $t, $v, $at, $s, $j)
                    ON CONFLICT (collection_id, id, version) DO NOTHING RETURNING seq;
                    """);
                insert.Parameters.AddWithValue("$c", collectionId);
                insert.Parameters.AddWithValue("$id", o.Id);
                insert.Parameters.AddWithValue("$t", o.Type);
                insert.Parameters.AddWithValue("$v", o.Version);
                insert.Parameters.AddWithValue("$at", stamp);
                insert.Parameters.AddWithValue("$s", source);
                insert.Parameters.AddWithValue("$j", o.Json);
                if (insert.ExecuteScalar() is long seq)
                {
                    added.Add(new StoredIntelObject(seq, collectionId, o.Id, o.Type, o.Version, Micros(stamp), source, o.Json));
                    stamp++;
                }
            }

            return added;
        }, cancellationToken);
    }

    /// <summary>Objects of a collection in date-added order, after the cursor, with the TAXII filters; one more than the limit tells there are more.</summary>
    public IReadOnlyList<StoredIntelObject> ReadObjects(IntelObjectQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sql = new StringBuilder($"{SelectObject} WHERE o.collection_id = $c AND o.seq > $after");
        var bind = new List<Action<SqliteCommand>>
        {
            c => c.Parameters.AddWithValue("$c", query.CollectionId),
            c => c.Parameters.AddWithValue("$after", query.AfterSequence),
        };
        if (query.AddedAfter is { } addedAfter)
        {
            sql.Append(" AND o.date_added > $aa");
            bind.Add(c => c.Parameters.AddWithValue("$aa", ToMicros(addedAfter)));
        }

        In(sql, bind, "o.type", "$type", query.Types);
        In(sql, bind, "o.id", "$id", query.Ids);
        var versions = query.Versions ?? ["last"];
        var explicitVersions = versions.Where(v => v is not ("last" or "first" or "all")).ToList();
        var clauses = new List<string>();
        if (versions.Contains("all"))
        {
            clauses.Add("1");
        }
        else
        {
            if (versions.Contains("last"))
            {
                clauses.Add("o.version = (SELECT MAX(x.version) FROM objects x WHERE x.collection_id = o.collection_id AND x.id = o.id)");
            }

            if (versions.Contains("first"))
            {
                clauses.Add("o.version = (SELECT MIN(x.version) FROM objects x WHERE x.collection_id = o.collection_id AND x.id = o.id)");
            }

            if (explicitVersions.Count > 0)
            {
                var names = explicitVersions.Select((_, i) => "$ver" + i).ToList();
                clauses.Add($"o.version IN ({string.Join(", ", names)})");
                for (var i = 0; i < explicitVersions.Count; i++)
                {
                    var (name, value) = (names[i], explicitVersions[i]);
                    bind.Add(c => c.Parameters.AddWithValue(name, value));
                }
            }
        }

        sql.Append(" AND (").Append(string.Join(" OR ", clauses)).Append(") ORDER BY o.seq LIMIT $limit;");
        bind.Add(c => c.Parameters.AddWithValue("$limit", query.Limit + 1));
        return Query(sql.ToString(), c => bind.ForEach(b => b(c)), ReadObject);
    }

    /// <summary>Where <c>intel pull</c> stopped for a collection URL (the last <c>X-TAXII-Date-Added-Last</c> it imported), or null.</summary>
    public DateTimeOffset? PullCursor(string url)
    {
        var found = Query("SELECT added_after FROM pull_cursors WHERE url = $u;", c => c.Parameters.AddWithValue("$u", url), r => Micros(r.GetInt64(0)));
        return found.Count == 0 ? null : found[0];
    }

    public Task SetPullCursorAsync(string url, DateTimeOffset addedAfter, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction, """
                INSERT INTO pull_cursors (url, added_after, pulled_at) VALUES ($u, $a, $at)
                ON CONFLICT (url) DO UPDATE SET added_after = $a, pulled_at = $at;
                """);
            command.Parameters.AddWithValue("$u", url);
            command.Parameters.AddWithValue("$a", ToMicros(addedAfter));
            command.Parameters.AddWithValue("$at", _time.GetUtcNow().ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
            return 0;
        }, cancellationToken);

    public ValueTask DisposeAsync()
    {
        using (var connection = new SqliteConnection(_database.ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _write.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Microseconds since the Unix epoch (TAXII timestamps carry sub-millisecond precision where a server offers it).</summary>
    public static long ToMicros(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static DateTimeOffset Micros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);

    private static string TokenHash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private const string SelectPartner = "SELECT id, name, public_key_pem, trust, wants_sightings, created_at FROM partners";

    private const string SelectObject = "SELECT o.seq, o.collection_id, o.id, o.type, o.version, o.date_added, o.source, o.json FROM objects o";

    private static IntelPartner ReadPartner(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetInt64(4) != 0, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)));

    private static StoredIntelObject ReadObject(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), Micros(r.GetInt64(5)), r.GetString(6), r.GetString(7));

    private static void In(StringBuilder sql, List<Action<SqliteCommand>> bind, string column, string prefix, IReadOnlyCollection<string>? values)
    {
        if (values is not { Count: > 0 })
        {
            return;
        }

        var list = values.ToList();
        var names = list.Select((_, i) => prefix + i).ToList();
        sql.Append($" AND {column} IN ({string.Join(", ", names)})");
        for (var i = 0; i < list.Count; i++)
        {
            var (name, value) = (names[i], list[i]);
            bind.Add(c => c.Parameters.AddWithValue(name, value));
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> write, CancellationToken cancellationToken) =>
        _database.WriteAsync(_write, "Writing the intel store", write, cancellationToken);

    private IReadOnlyList<T> Query<T>(string sql, Action<SqliteCommand>? bind, Func<SqliteDataReader, T> read)
    {
        using var connection = _database.OpenReader();
        using var command = Command(connection, null, sql);
        bind?.Invoke(command);
        using var reader = command.ExecuteReader();
        var results = new List<T>();
        while (reader.Read())
        {
            results.Add(read(reader));
        }

        return results;
    }
}
