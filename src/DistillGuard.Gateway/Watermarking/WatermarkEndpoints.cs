using System.Text.Json;
using System.Text.Json.Serialization;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Watermarking.Detection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistillGuard.Gateway.Watermarking;

/// <summary><c>POST /admin/v1/watermark/detect</c>: is this text ours?</summary>
internal static class WatermarkEndpoints
{
    /// <summary>Longest text accepted, in characters; larger ones get 413 (the body limit caps it anyway).</summary>
    public const int MaxTextLength = 4_000_000;

    /// <summary>Maps the route on the admin group, behind its token filter.</summary>
    public static void MapWatermarkApi(this RouteGroupBuilder admin) => admin.MapPost("/watermark/detect", DetectAsync);

    private static async Task DetectAsync(HttpContext context, WatermarkDetectionService detector)
    {
        var bytes = await InferenceEndpoints.ReadUnambiguousJsonAsync(context);
        DetectRequest? body;
        try
        {
            body = JsonSerializer.Deserialize(bytes, WatermarkJsonContext.Default.DetectRequest);
        }
        catch (JsonException e)
        {
            throw OpenAIErrorException.InvalidRequest("The request body is not valid JSON for a detection: " + InferenceEndpoints.Reason(e), e.Path, "invalid_json");
        }

        if (body?.Text is null)
        {
            throw OpenAIErrorException.InvalidRequest("'text' is required and must be a string.", "text");
        }

        if (body.Text.Length > MaxTextLength)
        {
            throw new OpenAIErrorException(StatusCodes.Status413PayloadTooLarge, $"'text' is longer than {MaxTextLength} characters.", "invalid_request_error", "text_too_long", "text");
        }

        var result = detector.Detect(body.Text, body.Windowed ?? false, body.Tokens ?? false, body.Model);
        await context.Response.WriteAsJsonAsync(result, WatermarkJsonContext.Default.WatermarkDetection, cancellationToken: context.RequestAborted);
    }
}

/// <summary>Body of the detect request: the text, and optionally windowed search, per-token colouring and the model whose scheme to test.</summary>
internal sealed record DetectRequest(string? Text, bool? Windowed, bool? Tokens, string? Model);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(DetectRequest))]
// The library's result is the response: the contract's fields (pValue, zScore, scoredTokens, greenFraction,
// watermarked) plus what an analyst needs to judge them; it holds no key material.
[JsonSerializable(typeof(WatermarkDetection))]
internal sealed partial class WatermarkJsonContext : JsonSerializerContext;
