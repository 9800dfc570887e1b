using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Policy.Configuration;

namespace DistillGuard.Gateway.Inference;

/// <summary>
/// Seals reasoning traces into opaque blobs only this gateway can open (AES-256-GCM), bound to the account they were
/// served to and to an expiry, and opens them when the account sends them back in a later turn.
/// </summary>
/// <remarks>
/// The keys live in <c>reasoning-keys.json</c> in the data directory (owner-only on Unix). The newest key seals; once
/// it is older than the rotation period a new key is made on the next seal, and an old key is kept until every blob it
/// can have sealed has expired, so rotation never breaks a recent conversation. A blob is
/// <c>version | key id | expiry | nonce | tag | ciphertext</c>, base64; the version, key id, expiry and account id are
/// the associated data, so changing any of them, or sending the blob from another account, fails authentication.
/// Thread-safe: sealing and opening read an immutable snapshot of the keys; rotation takes a lock.
/// </remarks>
internal sealed class ReasoningKeyring
{
    /// <summary>The keyring's file name in the data directory.</summary>
    public const string FileName = "reasoning-keys.json";

    private const byte Version = 1;
    private const int KeyIdBytes = 8;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private const int HeaderBytes = 1 + KeyIdBytes + 8;
    private const int Overhead = HeaderBytes + NonceBytes + TagBytes;
    private static readonly byte[] s_context = "distillguard/sealed-reasoning/v1"u8.ToArray();

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Func<SealRule> _rule;
    private readonly Lock _rotation = new();
    private volatile IReadOnlyList<SealKey> _keys;

    public ReasoningKeyring(string dataDirectory, TimeProvider time, Func<SealRule> rule)
    {
        _path = Path.Combine(dataDirectory, FileName);
        _time = time;
        _rule = rule;
        _keys = File.Exists(_path) ? Read(_path) : [];
    }

    /// <summary>The keys held now, newest last (for tests and the rotation check).</summary>
    internal IReadOnlyList<SealKey> Keys => _keys;

    /// <summary>Seals <paramref name="reasoning"/> for <paramref name="accountId"/>; the blob opens until the configured lifetime has passed.</summary>
    public string Seal(string accountId, string reasoning)
    {
        var now = _time.GetUtcNow();
        var key = CurrentKey(now);
        var plaintext = Encoding.UTF8.GetBytes(reasoning);
        var blob = new byte[Overhead + plaintext.Length];
        blob[0] = Version;
        key.Id.CopyTo(blob.AsSpan(1, KeyIdBytes));
        var expiry = now + TimeSpan.FromHours(_rule().LifetimeHours);
        BinaryPrimitives.WriteInt64BigEndian(blob.AsSpan(1 + KeyIdBytes, 8), expiry.ToUnixTimeSeconds());
        var nonce = blob.AsSpan(HeaderBytes, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key.Secret, TagBytes);
        aes.Encrypt(nonce, plaintext, blob.AsSpan(Overhead), blob.AsSpan(HeaderBytes + NonceBytes, TagBytes), AssociatedData(blob.AsSpan(0, HeaderBytes), accountId));
        return Convert.ToBase64String(blob);
    }

    /// <summary>The reasoning in <paramref name="blob"/>; throws a 400 <see cref="OpenAIErrorException"/> naming <paramref name="param"/> when it is not one this gateway sealed for this account, or has expired.</summary>
    public string Open(string accountId, string blob, string param)
    {
        var bytes = new byte[blob.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(blob, bytes, out var length) || length < Overhead || bytes[0] != Version)
        {
            throw Refused(param, "is not reasoning this gateway sealed", "invalid_encrypted_content");
        }

        var data = bytes.AsSpan(0, length);
        var key = Find(data.Slice(1, KeyIdBytes));
        if (key is null)
        {
            // Either forged, or sealed with a key retired after every blob it sealed had expired.
            throw Refused(param, "was not sealed with a key this gateway holds (forged, or older than its lifetime)", "invalid_encrypted_content");
        }

        var plaintext = new byte[length - Overhead];
        try
        {
            using var aes = new AesGcm(key.Secret, TagBytes);
            aes.Decrypt(data.Slice(HeaderBytes, NonceBytes), data[Overhead..], data.Slice(HeaderBytes + NonceBytes, TagBytes), plaintext, AssociatedData(data[..HeaderBytes], accountId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Refused(param, "failed verification: it was altered, or sealed for another account", "invalid_encrypted_content");
        }

        // The expiry is checked only once authenticated: an altered expiry is a forgery, not a lapse.
        var expiry = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(data.Slice(1 + KeyIdBytes, 8)));
        if (expiry <= _time.GetUtcNow())
        {
            throw Refused(param, $"expired at {expiry:yyyy-MM-dd'T'HH:mm:ss'Z'}; start the conversation again without it", "encrypted_content_expired");
        }

        return Encoding.UTF8.GetString(plaintext);
    }

    /// <summary>
    /// Opens every sealed blob a chat request carries back (<c>reasoning_encrypted</c> on assistant messages) and puts
    /// the reasoning in the message as <c>reasoning_content</c>, as the upstream wrote it; throws a 400 for a blob that
    /// does not open.
    /// </summary>
    public void OpenInto(InferenceRequest request, string accountId)
    {
        if (request.Body["messages"] is not JsonArray messages)
        {
            return;
        }

        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not JsonObject message)
            {
                continue;
            }

            if (message[ApiTranslation.SignedReasoningField] is { } signed)
            {
                OpenSigned(message, signed, accountId, $"messages[{i}].{ApiTranslation.SignedReasoningField}");
                request.RawBody = default;
            }

            if (!message.ContainsKey(ApiTranslation.SealedReasoningField))
            {
                continue;
            }

            var param = $"messages[{i}].{ApiTranslation.SealedReasoningField}";
            if ((string?)message["role"] != "assistant")
            {
                throw OpenAIErrorException.InvalidRequest($"'{param}' belongs to assistant messages: it carries the reasoning of an earlier answer.", param);
            }

            if (message[ApiTranslation.SealedReasoningField] is not JsonValue value || !value.TryGetValue<string>(out var blob) || blob.Length == 0)
            {
                throw OpenAIErrorException.InvalidRequest($"'{param}' must be the non-empty string an earlier answer carried.", param);
            }

            var reasoning = Open(accountId, blob, param);
            message.Remove(ApiTranslation.SealedReasoningField);
            message["reasoning_content"] = reasoning + Text(message["reasoning_content"]);
            // The body changed: it is forwarded as re-serialised, not as received.
            request.RawBody = default;
        }
    }

    /// <summary>Checks signed thinking blocks against their signatures and puts the traces they sealed in the message.</summary>
    private void OpenSigned(JsonObject message, JsonNode signed, string accountId, string param)
    {
        message.Remove(ApiTranslation.SignedReasoningField);
        if (signed is not JsonArray blocks || (string?)message["role"] != "assistant")
        {
            throw OpenAIErrorException.InvalidRequest($"'{param}' is not a field this gateway takes.", param);
        }

        var traces = new StringBuilder();
        foreach (var block in blocks)
        {
            if (block is not JsonObject { } entry || Text(entry["signature"]) is not { Length: > 0 } signature || Text(entry["param"]) is not { } at)
            {
                throw OpenAIErrorException.InvalidRequest($"'{param}' is not a field this gateway takes.", param);
            }

            var trace = Open(accountId, signature, at);
            if (Text(entry["thinking"]) is { Length: > 0 } thinking && thinking != trace)
            {
                throw Refused(at, "does not match its thinking block: the block was altered", "invalid_encrypted_content");
            }

            traces.Append(trace);
        }

        message["reasoning_content"] = traces + (Text(message["reasoning_content"]) ?? "");
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static OpenAIErrorException Refused(string param, string reason, string code) =>
        OpenAIErrorException.InvalidRequest($"The sealed reasoning at '{param}' {reason}.", param, code);

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, string accountId)
    {
        var account = Encoding.UTF8.GetBytes(accountId);
        var aad = new byte[s_context.Length + header.Length + account.Length];
        s_context.CopyTo(aad, 0);
        header.CopyTo(aad.AsSpan(s_context.Length));
        account.CopyTo(aad, s_context.Length + header.Length);
        return aad;
    }

    private SealKey? Find(ReadOnlySpan<byte> id)
    {
        foreach (var key in _keys)
        {
            if (id.SequenceEqual(key.Id))
            {
                return key;
            }
        }

        return null;
    }

    private SealKey CurrentKey(DateTimeOffset now)
    {
        var rule = _rule();
        var rotation = TimeSpan.FromDays(rule.KeyRotationDays);
        if (_keys is [.., var newest] && now - newest.Created < rotation)
        {
            return newest;
        }

        lock (_rotation)
        {
            if (_keys is [.., var again] && now - again.Created < rotation)
            {
                return again;
            }

            // A key seals only until its rotation period ends, so no blob it sealed outlives created + rotation +
            // lifetime: past that it opens nothing and is dropped.
            var keep = TimeSpan.FromDays(rule.KeyRotationDays) + TimeSpan.FromHours(rule.LifetimeHours);
            var fresh = new SealKey(RandomNumberGenerator.GetBytes(KeyIdBytes), RandomNumberGenerator.GetBytes(32), now);
            var keys = _keys.Where(k => now - k.Created < keep).Append(fresh).ToList();
            Write(_path, keys);
            _keys = keys;
            return fresh;
        }
    }

    /// <summary>The keys in <paramref name="path"/>; a file this gateway did not write stops start-up (<see cref="Hosting.GatewayConfigException"/>).</summary>
    private static List<SealKey> Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var keys = new List<SealKey>();
            foreach (var key in document.RootElement.GetProperty("keys").EnumerateArray())
            {
                var created = key.GetProperty("created").GetDateTimeOffset();
                var id = Convert.FromHexString(key.GetProperty("id").GetString() ?? "");
                var secret = Convert.FromBase64String(key.GetProperty("secret").GetString() ?? "");
                if (id.Length != KeyIdBytes || secret.Length != 32)
                {
                    throw new FormatException($"a key with a {id.Length}-byte id or a {secret.Length}-byte secret");
                }

                keys.Add(new SealKey(id, secret, created));
            }

            return [.. keys.OrderBy(k => k.Created)];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Never a quiet new keyring: that would refuse every live conversation's blobs.
            throw new Hosting.GatewayConfigException($"{path} is not a reasoning keyring this gateway wrote ({e.Message}); restore it, or delete it to start a new one (blobs already served will then be refused).");
        }
    }

    private static void Write(string path, IReadOnlyList<SealKey> keys)
    {
        var temporary = path + ".tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, fileOptions))
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var key in keys)
            {
                writer.WriteStartObject();
                writer.WriteString("id", Convert.ToHexStringLower(key.Id));
                writer.WriteString("created", key.Created);
                writer.WriteString("secret", Convert.ToBase64String(key.Secret));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>One sealing key: its id (in every blob it seals), its secret and when it was made.</summary>
    internal sealed record SealKey(byte[] Id, byte[] Secret, DateTimeOffset Created);
}
