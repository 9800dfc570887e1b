using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.OpenAI;

/// <summary>A request the gateway refuses, carried to the error writer as an OpenAI-style error.</summary>
public sealed class OpenAIErrorException(int status, string message, string type, string? code, string? param = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Code { get; } = code;
    public string? Param { get; } = param;

    public static OpenAIErrorException InvalidRequest(string message, string? param = null, string code = "invalid_request_error") =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", code, param);
}

/// <summary>Writes <c>{"error": {"message", "type", "param", "code"}}</c> responses.</summary>
public static class OpenAIError
{
    public static Task WriteAsync(HttpContext context, OpenAIErrorException error) =>
        WriteAsync(context, error.Status, error.Message, error.Type, error.Code, error.Param);

    public static async Task WriteAsync(HttpContext context, int status, string message, string type, string? code, string? param = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Items[ErrorCodeItem] = code ?? type;
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        WriteBody(writer, message, type, code, param);
        await writer.FlushAsync(context.RequestAborted);
    }

    /// <summary>Writes the error object (as the whole JSON value) — also used inside an SSE stream.</summary>
    public static void WriteBody(Utf8JsonWriter writer, string message, string type, string? code, string? param = null)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        if (param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", param);
        }

        if (code is null)
        {
            writer.WriteNull("code");
        }
        else
        {
            writer.WriteString("code", code);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    internal const string ErrorCodeItem = "dg.error-code";

    public static Task Unauthorized(HttpContext context, string message) =>
        WriteAsync(context, StatusCodes.Status401Unauthorized, message, "invalid_request_error", "invalid_api_key");

    public static Task NotFound(HttpContext context, string message, string code) =>
        WriteAsync(context, StatusCodes.Status404NotFound, message, "invalid_request_error", code);
}
