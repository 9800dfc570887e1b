using System.Buffers;
using System.Text.Json;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>A request the TAXII server refuses, written as a TAXII error object (TAXII 2.1 §3.6.1).</summary>
internal sealed class TaxiiErrorException(int status, string title, string description, string? errorCode = null) : Exception(title)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public string Description { get; } = description;

    public string? ErrorCode { get; } = errorCode;
}

/// <summary>TAXII 2.1 media types, content negotiation and response writing.</summary>
internal static class TaxiiMedia
{
    public const string Taxii = "application/taxii+json;version=2.1";
    public const string Stix = "application/stix+json;version=2.1";
    public const string DateAddedFirst = "X-TAXII-Date-Added-First";
    public const string DateAddedLast = "X-TAXII-Date-Added-Last";

    /// <summary>Largest POST body accepted (also announced as the API root's max_content_length).</summary>
    public const int MaxContentLength = 10 * 1024 * 1024;

    /// <summary>Throws 406 unless the request accepts TAXII 2.1 JSON (an absent Accept header accepts anything).</summary>
    public static void CheckAccept(HttpRequest request)
    {
        var accept = request.Headers.Accept;
        if (accept.Count == 0)
        {
            return;
        }

        if (!MediaTypeHeaderValue.TryParseList(accept, out var values))
        {
            throw new TaxiiErrorException(StatusCodes.Status406NotAcceptable, "Not acceptable", $"The Accept header does not parse; this server answers {Taxii}.");
        }

        foreach (var value in values)
        {
            var type = value.MediaType.Value ?? "";
            var version = value.Parameters.FirstOrDefault(p => p.Name.Equals("version", StringComparison.OrdinalIgnoreCase))?.Value.Value;
            if (type is "*/*" or "application/*" || (type.Equals("application/taxii+json", StringComparison.OrdinalIgnoreCase) && version is null or "2.1"))
            {
                return;
            }
        }

        throw new TaxiiErrorException(StatusCodes.Status406NotAcceptable, "Not acceptable", $"This server answers {Taxii} only.");
    }

    /// <summary>Throws 415 unless the body is TAXII 2.1 JSON.</summary>
    public static void CheckContentType(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var value)
            || !string.Equals(value.MediaType.Value, "application/taxii+json", StringComparison.OrdinalIgnoreCase)
            || value.Parameters.FirstOrDefault(p => p.Name.Equals("version", StringComparison.OrdinalIgnoreCase))?.Value.Value is not ("2.1" or null))
        {
            throw new TaxiiErrorException(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", $"POST bodies must be {Taxii}; got '{request.ContentType}'.");
        }
    }

    /// <summary>Writes a JSON body built by <paramref name="write"/> in its canonical form, signed with our key, as TAXII 2.1.</summary>
    public static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write, SigningKey? signer)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        var canonical = CanonicalJson.Serialize(buffer.WrittenSpan);
        context.Response.StatusCode = status;
        context.Response.ContentType = Taxii;
        if (signer is not null)
        {
            // The detached signature lets the puller check that the page is ours, byte for byte, before importing anything.
            context.Response.Headers[DetachedSignature.Header] = signer.SignDetached(canonical);
        }

        await context.Response.Body.WriteAsync(canonical, context.RequestAborted);
    }

    public static Task WriteErrorAsync(HttpContext context, TaxiiErrorException error)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        if (error.Status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"taxii\"";
        }

        return WriteAsync(context, error.Status, w =>
        {
            w.WriteStartObject();
            w.WriteString("title", error.Title);
            w.WriteString("description", error.Description);
            if (error.ErrorCode is { } code)
            {
                w.WriteString("error_code", code);
            }

            w.WriteString("http_status", error.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }, null);
    }

    /// <summary>A TAXII timestamp (RFC 3339, UTC, microseconds).</summary>
    public static string Timestamp(DateTimeOffset time) => DistillGuard.ThreatIntel.Exchange.SignedContent.Normalise(time);
}
