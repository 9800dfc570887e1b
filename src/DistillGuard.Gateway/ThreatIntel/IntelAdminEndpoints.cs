using System.Security.Cryptography;
using System.Text.Json;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Storage.ThreatIntel;
using DistillGuard.ThreatIntel.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>Admin API for sharing: partners and their rights, our public keys, an export on demand.</summary>
internal static class IntelAdminEndpoints
{
    public static void MapIntelAdminApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/intel/partners", AddPartnerAsync);
        admin.MapGet("/intel/partners", ListPartners);
        admin.MapGet("/intel/keys", Keys);
        admin.MapPost("/intel/export", ExportAsync);
    }

    private static async Task AddPartnerAsync(HttpContext context, SqliteIntelStore store, TimeProvider time)
    {
        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            body = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw OpenAIErrorException.InvalidRequest("The body must be a JSON object.");
        }

        var id = Text(body, "id") ?? throw OpenAIErrorException.InvalidRequest("'id' is required.", "id");
        var trust = Text(body, "trust") ?? "medium";
        if (trust is not ("low" or "medium" or "high"))
        {
            throw OpenAIErrorException.InvalidRequest("'trust' is low, medium or high.", "trust");
        }

        var pem = Text(body, "publicKey");
        if (pem is not null)
        {
            try
            {
                _ = VerificationKey.FromPem(pem);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw OpenAIErrorException.InvalidRequest("'publicKey' must be an ECDSA P-256 public key in PEM.", "publicKey");
            }
        }

        var read = Flag(body, "read", true);
        var write = Flag(body, "write", false);
        string token;
        try
        {
            token = await store.AddPartnerAsync(
                new IntelPartner(id, Text(body, "name") ?? id, pem, trust, Flag(body, "wantsSightings", false), time.GetUtcNow()),
                [new CollectionRights(IntelCollections.Indicators, read, false), new CollectionRights(IntelCollections.Submissions, false, write)],
                context.RequestAborted);
        }
        catch (InvalidOperationException e)
        {
            throw new OpenAIErrorException(StatusCodes.Status409Conflict, e.Message, "invalid_request_error", "partner_exists", "id");
        }

        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("token", token);
        writer.WriteString("trust", trust);
        writer.WriteString("indicatorsCollection", IntelCollections.Indicators);
        writer.WriteString("submissionsCollection", IntelCollections.Submissions);
        writer.WriteBoolean("read", read);
        writer.WriteBoolean("write", write);
        writer.WriteEndObject();
    }

    private static async Task ListPartners(HttpContext context, SqliteIntelStore store)
    {
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartArray();
        foreach (var p in store.ListPartners())
        {
            writer.WriteStartObject();
            writer.WriteString("id", p.Id);
            writer.WriteString("name", p.Name);
            writer.WriteString("trust", p.Trust);
            writer.WriteBoolean("wantsSightings", p.WantsSightings);
            writer.WriteBoolean("signed", p.PublicKeyPem is not null);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static async Task Keys(HttpContext context, ProducerKeys keys)
    {
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("signingKeyId", keys.Signing.KeyId);
        writer.WriteString("publicKey", keys.Signing.PublicKey.ExportPem());
        writer.WriteString("sharingKeyId", keys.Sharing.KeyId);
        writer.WriteEndObject();
    }

    private static async Task ExportAsync(HttpContext context, IntelExportWorker worker)
    {
        var added = await worker.ExportAsync(context.RequestAborted);
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteNumber("added", added);
        writer.WriteEndObject();
    }

    private static string? Text(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Flag(JsonElement body, string name, bool fallback) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}
