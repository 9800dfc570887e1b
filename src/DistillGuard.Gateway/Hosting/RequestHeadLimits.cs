using DistillGuard.Gateway.OpenAI;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace DistillGuard.Gateway.Hosting;

/// <summary>
/// The request line and header limits, enforced by the gateway so that a refusal carries an OpenAI error body.
/// </summary>
/// <remarks>
/// Kestrel answers its own limit violations (414, 431) before any middleware runs, with an empty body, and offers no
/// hook to change that. So Kestrel's limits are set to twice the gateway's and the gateway's are checked here, first
/// in the pipeline: a request line over 8 KB or headers over 32 KB (Kestrel's defaults) get a JSON 414 or 431. Only a
/// head beyond twice that, or one Kestrel cannot parse at all, still gets Kestrel's empty answer.
/// </remarks>
internal static class RequestHeadLimits
{
    /// <summary>Longest request line (method, target, version) answered normally.</summary>
    public const int MaxRequestLineBytes = 8 * 1024;

    /// <summary>Largest sum of header names and values (with their separators) answered normally.</summary>
    public const int MaxHeaderBytes = 32 * 1024;

    /// <summary>Lets heads up to twice the gateway's limits through Kestrel, so the gateway can refuse them itself.</summary>
    public static void Configure(KestrelServerLimits limits)
    {
        limits.MaxRequestLineSize = 2 * MaxRequestLineBytes;
        limits.MaxRequestHeadersTotalSize = 2 * MaxHeaderBytes;
    }

    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.Path + request.QueryString).ToString();

        // Counted as Kestrel counts them: "METHOD SP target SP HTTP/1.1", and per header "name: value" plus CRLF.
        var line = request.Method.Length + 1 + target.Length + 1 + request.Protocol.Length;
        if (line > MaxRequestLineBytes)
        {
            return OpenAIError.WriteAsync(context, StatusCodes.Status414UriTooLong,
                $"The request line is {line} bytes; this gateway accepts at most {MaxRequestLineBytes}.", "invalid_request_error", "request_line_too_long");
        }

        long headers = 0;
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                headers += name.Length + 2 + (value?.Length ?? 0) + 2;
            }
        }

        if (headers > MaxHeaderBytes)
        {
            return OpenAIError.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
                $"The request headers are {headers} bytes; this gateway accepts at most {MaxHeaderBytes}.", "invalid_request_error", "request_headers_too_large");
        }

        return next(context);
    }
}
