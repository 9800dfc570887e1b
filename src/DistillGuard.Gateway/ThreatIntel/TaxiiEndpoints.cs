using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using DistillGuard.Gateway.Inference;
using DistillGuard.Storage.ThreatIntel;
using DistillGuard.ThreatIntel.Exchange;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>The TAXII 2.1 server under <c>/taxii2/</c>: discovery, one API root, collections, manifest, objects, versions, status.</summary>
/// <remarks>
/// Every request authenticates a partner by its bearer token; collections, reads and writes follow that partner's rights.
/// Responses are canonical JSON with a detached signature of ours; what partners write must carry theirs.
/// </remarks>
internal static class TaxiiEndpoints
{
    public const string ApiRoot = "api";
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    public static void MapTaxii(this IEndpointRouteBuilder app)
    {
        var taxii = app.MapGroup("/taxii2");
        taxii.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            try
            {
                TaxiiMedia.CheckAccept(http.Request);
                var store = http.RequestServices.GetRequiredService<SqliteIntelStore>();
                var token = ApiKeyAuthentication.BearerToken(http.Request);
                var partner = token is null ? null : store.FindPartnerByToken(token);
                if (partner is null)
                {
                    throw new TaxiiErrorException(StatusCodes.Status401Unauthorized, "Unauthorized", "A partner's bearer token is required.");
                }

                http.Items[typeof(IntelPartner)] = partner;
                return await next(context);
            }
            catch (TaxiiErrorException e)
            {
                await TaxiiMedia.WriteErrorAsync(http, e);
                return Results.Empty;
            }
        });

        taxii.MapGet("/", Discovery);
        taxii.MapGet($"/{ApiRoot}/", ApiRootInfo);
        taxii.MapGet($"/{ApiRoot}/collections/", Collections);
        taxii.MapGet($"/{ApiRoot}/collections/{{collection}}/", Collection);
        taxii.MapGet($"/{ApiRoot}/collections/{{collection}}/manifest/", Manifest);
        taxii.MapGet($"/{ApiRoot}/collections/{{collection}}/objects/", GetObjects);
        taxii.MapPost($"/{ApiRoot}/collections/{{collection}}/objects/", PostObjects);
        taxii.MapGet($"/{ApiRoot}/collections/{{collection}}/objects/{{id}}/", GetObject);
        taxii.MapGet($"/{ApiRoot}/collections/{{collection}}/objects/{{id}}/versions/", Versions);
        taxii.MapGet($"/{ApiRoot}/status/{{status}}/", Status);
        app.MapFallback("/taxii2/{**rest}", context => TaxiiMedia.WriteErrorAsync(context,
            new TaxiiErrorException(StatusCodes.Status404NotFound, "Not found", $"No TAXII resource at {context.Request.Method} {context.Request.Path}.")));
    }

    private static IntelPartner Partner(HttpContext context) => (IntelPartner)context.Items[typeof(IntelPartner)]!;

    private static SigningKey Signer(HttpContext context) => context.RequestServices.GetRequiredService<ProducerKeys>().Signing;

    private static Task Discovery(HttpContext context) => TaxiiMedia.WriteAsync(context, 200, w =>
    {
        var root = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}/taxii2/{ApiRoot}/";
        w.WriteStartObject();
        w.WriteString("title", "DistillGuard threat-intel exchange");
        w.WriteString("description", "Distillation-campaign indicators shared between model providers (STIX 2.1).");
        w.WriteString("default", root);
        w.WriteStartArray("api_roots");
        w.WriteStringValue(root);
        w.WriteEndArray();
        w.WriteEndObject();
    }, Signer(context));

    private static Task ApiRootInfo(HttpContext context) => TaxiiMedia.WriteAsync(context, 200, w =>
    {
        w.WriteStartObject();
        w.WriteString("title", "Distillation indicators");
        w.WriteStartArray("versions");
        w.WriteStringValue(TaxiiMedia.Taxii);
        w.WriteEndArray();
        w.WriteNumber("max_content_length", TaxiiMedia.MaxContentLength);
        w.WriteEndObject();
    }, Signer(context));

    private static Task Collections(HttpContext context, SqliteIntelStore store)
    {
        var rights = store.RightsOf(Partner(context).Id).Where(r => IntelCollections.IsServed(r.CollectionId) && (r.CanRead || r.CanWrite)).ToList();
        return TaxiiMedia.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            if (rights.Count > 0)
            {
                w.WriteStartArray("collections");
                foreach (var r in rights)
                {
                    WriteCollection(w, r);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }, Signer(context));
    }

    private static Task Collection(HttpContext context, SqliteIntelStore store, string collection)
    {
        var rights = Rights(context, store, collection, need: null);
        return TaxiiMedia.WriteAsync(context, 200, w => WriteCollection(w, rights), Signer(context));
    }

    private static void WriteCollection(Utf8JsonWriter w, CollectionRights r)
    {
        var info = IntelCollections.Served.First(c => c.Id == r.CollectionId);
        w.WriteStartObject();
        w.WriteString("id", info.Id);
        w.WriteString("title", info.Title);
        w.WriteString("description", info.Description);
        w.WriteBoolean("can_read", r.CanRead);
        w.WriteBoolean("can_write", r.CanWrite);
        w.WriteStartArray("media_types");
        w.WriteStringValue(TaxiiMedia.Stix);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The partner's rights on a served collection; 404 when it does not exist or the partner has no right on it, 403 when it lacks <paramref name="need"/>.</summary>
    private static CollectionRights Rights(HttpContext context, SqliteIntelStore store, string collection, string? need)
    {
        var rights = IntelCollections.IsServed(collection) ? store.RightsOf(Partner(context).Id).FirstOrDefault(r => r.CollectionId == collection) : null;
        if (rights is null || !(rights.CanRead || rights.CanWrite))
        {
            throw new TaxiiErrorException(StatusCodes.Status404NotFound, "Collection not found", $"No collection '{collection}' is shared with this partner.");
        }

        if ((need == "read" && !rights.CanRead) || (need == "write" && !rights.CanWrite))
        {
            throw new TaxiiErrorException(StatusCodes.Status403Forbidden, "Forbidden", $"This partner may not {need} collection '{collection}'.");
        }

        return rights;
    }

    /// <summary>The page of objects the query parameters ask for, with the next token when there are more.</summary>
    private static (IReadOnlyList<StoredIntelObject> Page, bool More, string? Next) Page(HttpContext context, SqliteIntelStore store, string collection, string? id)
    {
        var query = context.Request.Query;
        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
        {
            throw new TaxiiErrorException(StatusCodes.Status400BadRequest, "Bad limit", "limit must be a positive integer.");
        }

        limit = Math.Min(limit, MaxLimit);
        DateTimeOffset? addedAfter = null;
        if (query.TryGetValue("added_after", out var after))
        {
            try
            {
                addedAfter = StixTimestampConverter.Parse(after.ToString());
            }
            catch (JsonException)
            {
                throw new TaxiiErrorException(StatusCodes.Status400BadRequest, "Bad added_after", "added_after must be an RFC 3339 timestamp in UTC ending in Z.");
            }
        }

        var types = List(query, "match[type]");
        var ids = id is null ? List(query, "match[id]") : [id];
        var versions = List(query, "match[version]");
        foreach (var v in versions ?? [])
        {
            if (v is not ("last" or "first" or "all"))
            {
                try
                {
                    StixTimestampConverter.Parse(v);
                }
                catch (JsonException)
                {
                    throw new TaxiiErrorException(StatusCodes.Status400BadRequest, "Bad match[version]", "match[version] is last, first, all or a timestamp.");
                }
            }
        }

        var specVersions = List(query, "match[spec_version]");
        var filters = string.Join("|", addedAfter is null ? "" : TaxiiMedia.Timestamp(addedAfter.Value), Join(types), Join(ids), Join(versions), Join(specVersions));
        var cursor = context.RequestServices.GetRequiredService<TaxiiCursor>();
        long afterSequence = 0;
        if (query.TryGetValue("next", out var next))
        {
            afterSequence = cursor.Read(next.ToString(), collection, filters)
                ?? throw new TaxiiErrorException(StatusCodes.Status400BadRequest, "Bad next", "This next token was not issued by this server for this collection and these filters.");
        }

        if (specVersions is not null && !specVersions.Contains("2.1"))
        {
            return ([], false, null);
        }

        var rows = store.ReadObjects(new IntelObjectQuery(collection, addedAfter, afterSequence, types, ids, Normalised(versions), limit));
        var more = rows.Count > limit;
        var page = more ? rows.Take(limit).ToList() : rows;
        return (page, more, more ? cursor.Issue(collection, filters, page[^1].Sequence) : null);
    }

    private static List<string>? Normalised(List<string>? versions) =>
        versions?.Select(v => v is "last" or "first" or "all" ? v : TaxiiMedia.Timestamp(StixTimestampConverter.Parse(v))).ToList();

    private static string Join(List<string>? values) => values is null ? "" : string.Join(",", values.Order(StringComparer.Ordinal));

    private static List<string>? List(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) ? [.. values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))] : null;

    private static void DateHeaders(HttpContext context, IReadOnlyList<StoredIntelObject> page)
    {
        if (page.Count > 0)
        {
            context.Response.Headers[TaxiiMedia.DateAddedFirst] = TaxiiMedia.Timestamp(page.Min(o => o.DateAdded));
            context.Response.Headers[TaxiiMedia.DateAddedLast] = TaxiiMedia.Timestamp(page.Max(o => o.DateAdded));
        }
    }

    private static Task GetObjects(HttpContext context, SqliteIntelStore store, string collection)
    {
        Rights(context, store, collection, "read");
        var (page, more, next) = Page(context, store, collection, null);
        return WriteEnvelope(context, page, more, next);
    }

    private static Task GetObject(HttpContext context, SqliteIntelStore store, string collection, string id)
    {
        Rights(context, store, collection, "read");
        var (page, more, next) = Page(context, store, collection, id);
        if (page.Count == 0 && !context.Request.Query.ContainsKey("next"))
        {
            throw new TaxiiErrorException(StatusCodes.Status404NotFound, "Object not found", $"No object '{id}' (in the versions asked for) in this collection.");
        }

        return WriteEnvelope(context, page, more, next);
    }

    private static Task WriteEnvelope(HttpContext context, IReadOnlyList<StoredIntelObject> page, bool more, string? next)
    {
        DateHeaders(context, page);
        return TaxiiMedia.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("more", more);
            if (next is not null)
            {
                w.WriteString("next", next);
            }

            if (page.Count > 0)
            {
                w.WriteStartArray("objects");
                foreach (var o in page)
                {
                    using var document = JsonDocument.Parse(o.Json);
                    document.RootElement.WriteTo(w);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }, Signer(context));
    }

    private static Task Manifest(HttpContext context, SqliteIntelStore store, string collection)
    {
        Rights(context, store, collection, "read");
        var (page, more, next) = Page(context, store, collection, null);
        DateHeaders(context, page);
        return TaxiiMedia.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("more", more);
            if (next is not null)
            {
                w.WriteString("next", next);
            }

            if (page.Count > 0)
            {
                w.WriteStartArray("objects");
                foreach (var o in page)
                {
                    w.WriteStartObject();
                    w.WriteString("id", o.Id);
                    w.WriteString("date_added", TaxiiMedia.Timestamp(o.DateAdded));
                    w.WriteString("version", o.Version);
                    w.WriteString("media_type", TaxiiMedia.Stix);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }, Signer(context));
    }

    private static Task Versions(HttpContext context, SqliteIntelStore store, string collection, string id)
    {
        Rights(context, store, collection, "read");
        var rows = store.ReadObjects(new IntelObjectQuery(collection, Ids: [id], Versions: ["all"], Limit: MaxLimit));
        if (rows.Count == 0)
        {
            throw new TaxiiErrorException(StatusCodes.Status404NotFound, "Object not found", $"No object '{id}' in this collection.");
        }

        DateHeaders(context, rows);
        return TaxiiMedia.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("more", false);
            w.WriteStartArray("versions");
            foreach (var v in rows.Select(r => r.Version).Distinct().Order(StringComparer.Ordinal))
            {
                w.WriteStringValue(v);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, Signer(context));
    }

    private static async Task PostObjects(HttpContext context, SqliteIntelStore store, TimeProvider time, string collection)
    {
        var partner = Partner(context);
        Rights(context, store, collection, "write");
        TaxiiMedia.CheckContentType(context.Request);
        if (context.Request.ContentLength > TaxiiMedia.MaxContentLength)
        {
            throw new TaxiiErrorException(StatusCodes.Status413PayloadTooLarge, "Too large", $"At most {TaxiiMedia.MaxContentLength} bytes per request.");
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        if (body.Length > TaxiiMedia.MaxContentLength)
        {
            throw new TaxiiErrorException(StatusCodes.Status413PayloadTooLarge, "Too large", $"At most {TaxiiMedia.MaxContentLength} bytes per request.");
        }

        IReadOnlyList<ImportedObject> objects;
        try
        {
            var key = partner.PublicKeyPem is { } pem ? VerificationKey.FromPem(pem) : null;
            objects = SignedContent.Verify(body.ToArray(), context.Request.Headers[DetachedSignature.Header].ToString(), key, "envelope");
        }
        catch (IntelRejectedException e)
        {
            throw new TaxiiErrorException(StatusCodes.Status422UnprocessableEntity, "Rejected: nothing was imported", e.Message, e.Code);
        }

        var requested = time.GetUtcNow();
        var added = await store.AddObjectsAsync(collection, partner.Id, [.. objects.Select(o => (o.Id, o.Type, o.Version, o.Json))], context.RequestAborted);
        var status = new TaxiiStatus(Guid.NewGuid().ToString(), partner.Id, requested, objects);
        context.RequestServices.GetRequiredService<TaxiiStatusLog>().Add(status);
        _ = added;
        await WriteStatus(context, StatusCodes.Status202Accepted, status);
    }

    private static Task Status(HttpContext context, TaxiiStatusLog log, string status)
    {
        if (log.Find(status) is not { } found || found.PartnerId != Partner(context).Id)
        {
            throw new TaxiiErrorException(StatusCodes.Status404NotFound, "Status not found", $"No status '{status}' for this partner.");
        }

        return WriteStatus(context, 200, found);
    }

    private static Task WriteStatus(HttpContext context, int code, TaxiiStatus status) => TaxiiMedia.WriteAsync(context, code, w =>
    {
        w.WriteStartObject();
        w.WriteString("id", status.Id);
        w.WriteString("status", "complete");
        w.WriteString("request_timestamp", TaxiiMedia.Timestamp(status.Requested));
        w.WriteNumber("total_count", status.Objects.Count);
        w.WriteNumber("success_count", status.Objects.Count);
        w.WriteNumber("failure_count", 0);
        w.WriteNumber("pending_count", 0);
        if (status.Objects.Count > 0)
        {
            w.WriteStartArray("successes");
            foreach (var o in status.Objects)
            {
                w.WriteStartObject();
                w.WriteString("id", o.Id);
                w.WriteString("version", o.Version);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }, Signer(context));
}

/// <summary>The outcome of one POST, kept for <c>GET status/{id}/</c>.</summary>
internal sealed record TaxiiStatus(string Id, string PartnerId, DateTimeOffset Requested, IReadOnlyList<ImportedObject> Objects);

/// <summary>Recent POST outcomes in memory (the last 1,000): imports are synchronous, so every status is already complete.</summary>
internal sealed class TaxiiStatusLog
{
    private readonly ConcurrentDictionary<string, TaxiiStatus> _statuses = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public void Add(TaxiiStatus status)
    {
        _statuses[status.Id] = status;
        _order.Enqueue(status.Id);
        while (_order.Count > 1000 && _order.TryDequeue(out var old))
        {
            _statuses.TryRemove(old, out _);
        }
    }

    public TaxiiStatus? Find(string id) => _statuses.GetValueOrDefault(id);
}
