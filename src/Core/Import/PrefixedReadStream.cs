namespace AgentSpend.Core.Import;

/// <summary>
/// A read-only stream of bytes already read (the part looked at to detect the format) followed by the
/// rest of the upload. Counts what it hands out and stops at a size limit.
/// </summary>
public sealed class PrefixedReadStream(byte[] prefix, Stream rest, long maxBytes) : Stream
{
    private int _prefixPosition;

    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_prefixPosition < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _prefixPosition);
            prefix.AsSpan(_prefixPosition, n).CopyTo(buffer);
            _prefixPosition += n;
            return Count(n);
        }

        return Count(rest.Read(buffer));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefixPosition < prefix.Length)
        {
            return Read(buffer.Span);
        }

        return Count(await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Count(int n)
    {
        BytesRead += n;
        return BytesRead > maxBytes ? throw new ImportTooLargeException(maxBytes) : n;
    }
}

/// <summary>The upload is larger than the import allows.</summary>
public sealed class ImportTooLargeException(long maxBytes) : Exception($"The upload is larger than {maxBytes} bytes.")
{
    public long MaxBytes { get; } = maxBytes;
}
