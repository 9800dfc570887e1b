namespace DistillGuard.Gateway.Inference;

/// <summary>An upstream's answer broke a size bound (a body or one stream line too large); the relay ends it with a 502.</summary>
internal sealed class UpstreamTooLargeException() : Exception("The upstream's answer exceeded the gateway's size bound.");

/// <summary>
/// A read-only view of an SSE body that throws <see cref="UpstreamTooLargeException"/> once a line grows past a bound.
/// </summary>
/// <remarks>
/// The SSE parser buffers a line until its end, so one endless event would otherwise grow the gateway's memory without
/// limit. Counting bytes since the last line break costs one vectorised scan of what was read.
/// </remarks>
internal sealed class LineLengthLimitedStream(Stream inner, int maxLineBytes) : Stream
{
    private long _lineLength;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Count(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Count(buffer.Span[..read]);
        return read;
    }

    private void Count(ReadOnlySpan<byte> data)
    {
        var last = data.LastIndexOfAny((byte)'\n', (byte)'\r');
        _lineLength = last < 0 ? _lineLength + data.Length : data.Length - last - 1;
        if (_lineLength > maxLineBytes)
        {
            throw new UpstreamTooLargeException();
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
