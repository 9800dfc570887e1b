using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using DistillGuard.Storage.ThreatIntel;
using DistillGuard.ThreatIntel.Exchange;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>What one pull brought in.</summary>
/// <param name="AddedAfter">The cursor the pull resumed from (null: from the start).</param>
public sealed record PullResult(int Pages, int Objects, int NewVersions, DateTimeOffset? AddedAfter, DateTimeOffset? Cursor);

/// <summary>A partner's TAXII 2.1 collection could not be read, or what it sent was refused (nothing of that page was imported).</summary>
public sealed class TaxiiPullException(string message) : Exception(message)
{
    public TaxiiPullException()
        : this("The pull failed.")
    {
    }

    public TaxiiPullException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}

/// <summary>Polls a partner's TAXII 2.1 collection incrementally: pages with <c>next</c>, resumes from the last <c>X-TAXII-Date-Added-Last</c> it stored.</summary>
/// <remarks>Each page's detached signature is verified against the partner's key before any of it is stored; the cursor moves only after a page is stored.</remarks>
public sealed class TaxiiPuller(HttpClient http, SqliteIntelStore store)
{
    /// <summary>Pulls every object added since the last pull of <paramref name="collectionUrl"/> into the imported collection.</summary>
    /// <param name="collectionUrl">The collection's URL, ending in <c>/collections/{id}/</c>.</param>
    /// <param name="source">Our name for the partner (stored with each object; its trust level is looked up by it).</param>
    public async Task<PullResult> PullAsync(Uri collectionUrl, string token, VerificationKey partnerKey, string source, int limit = 500, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(collectionUrl);
        var url = collectionUrl.ToString().TrimEnd('/') + "/";
        var start = store.PullCursor(url);
        var cursor = start;
        string? next = null;
        int pages = 0, objects = 0, added = 0;
        while (true)
        {
            var query = new List<string> { "limit=" + limit.ToString(CultureInfo.InvariantCulture) };
            if (cursor is { } after)
            {
                query.Add("added_after=" + Uri.EscapeDataString(TaxiiMedia.Timestamp(after)));
            }

            if (next is not null)
            {
                query.Add("next=" + Uri.EscapeDataString(next));
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, url + "objects/?" + string.Join("&", query));
            request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse(TaxiiMedia.Taxii));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new TaxiiPullException($"{url} answered {(int)response.StatusCode}: {Describe(body)}");
            }

            IReadOnlyList<ImportedObject> page;
            try
            {
                var signature = response.Headers.TryGetValues(DetachedSignature.Header, out var values) ? values.FirstOrDefault() : null;
                page = SignedContent.Verify(body, signature, partnerKey, "envelope");
            }
            catch (IntelRejectedException e)
            {
                throw new TaxiiPullException($"{url}: page refused ({e.Code}), nothing of it imported: {e.Message}");
            }

            pages++;
            objects += page.Count;
            added += (await store.AddObjectsAsync(IntelCollections.Imported, source, [.. page.Select(o => (o.Id, o.Type, o.Version, o.Json))], cancellationToken)).Count;
            using var envelope = JsonDocument.Parse(body);
            var more = envelope.RootElement.TryGetProperty("more", out var m) && m.ValueKind == JsonValueKind.True;
            next = more && envelope.RootElement.TryGetProperty("next", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (response.Headers.TryGetValues(TaxiiMedia.DateAddedLast, out var last) && page.Count > 0)
            {
                var lastAdded = StixTimestampConverter.Parse(last.First());
                await store.SetPullCursorAsync(url, lastAdded, cancellationToken);
                if (next is null)
                {
                    cursor = lastAdded;
                }
            }

            // TAXII 2.1 §3.4.1: with more=true and no next, page on with added_after set to the last date added.
            if (!more || page.Count == 0)
            {
                return new PullResult(pages, objects, added, start, store.PullCursor(url));
            }
        }
    }

    private static string Describe(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            return $"{root.GetPropertyOrEmpty("title")}: {root.GetPropertyOrEmpty("description")}";
        }
        catch (JsonException)
        {
            return "(not a TAXII error object)";
        }
    }
}
