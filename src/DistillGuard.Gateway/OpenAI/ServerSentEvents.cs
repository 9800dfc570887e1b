using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.OpenAI;

/// <summary>The client closed the connection while its answer was being written.</summary>
internal sealed class ClientDisconnectedException() : OperationCanceledException("The client closed the connection.");

/// <summary>Writes an OpenAI-style SSE stream (<c>data: {json}</c> events, then <c>data: [DONE]</c>), flushing each event.</summary>
/// <remarks>One instance per response; not thread-safe.</remarks>
internal sealed class ServerSentEventWriter : IDisposable
{
    private readonly HttpResponse _response;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _json;

    public ServerSentEventWriter(HttpResponse response)
    {
        _response = response;
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
    }

    /// <summary>Sends the SSE response headers (status 200) if not sent yet.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_response.HasStarted)
        {
            return Task.CompletedTask;
        }

        _response.StatusCode = StatusCodes.Status200OK;
        _response.ContentType = "text/event-stream; charset=utf-8";
        _response.Headers.CacheControl = "no-cache";
        _response.Headers["X-Accel-Buffering"] = "no";
        return _response.StartAsync(cancellationToken);
    }

    /// <summary>Writes one event whose JSON payload <paramref name="write"/> produces.</summary>
    public async ValueTask WriteEventAsync<TState>(TState state, Action<Utf8JsonWriter, TState> write, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        write(_json, state);
        _json.Flush();
        await WriteDataAsync(_buffer.WrittenMemory, cancellationToken);
    }

    /// <summary>Writes one event with a payload already encoded as UTF-8 JSON.</summary>
    public async ValueTask WriteDataAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var body = _response.BodyWriter;
        body.Write("data: "u8);
        body.Write(payload.Span);
        body.Write("\n\n"u8);
        ThrowIfGone(await body.FlushAsync(cancellationToken));
    }

    // Kestrel completes the body writer when the connection is gone, before RequestAborted's callbacks have run (they
    // are queued to a busy thread pool): a completed flush is the earliest word that nobody reads this stream.
    private static void ThrowIfGone(FlushResult result)
    {
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new ClientDisconnectedException();
        }
    }

    /// <summary>Writes the terminating <c>data: [DONE]</c> event.</summary>
    public async ValueTask WriteDoneAsync(CancellationToken cancellationToken)
    {
        _response.BodyWriter.Write("data: [DONE]\n\n"u8);
        ThrowIfGone(await _response.BodyWriter.FlushAsync(cancellationToken));
    }

    /// <summary>Ends a stream that failed after it started with an error event (no [DONE]).</summary>
    public ValueTask WriteErrorAsync(string message, string type, string code, CancellationToken cancellationToken) =>
        WriteEventAsync((message, type, code), static (w, s) => OpenAIError.WriteBody(w, s.message, s.type, s.code), cancellationToken);

    public void Dispose() => _json.Dispose();
}
