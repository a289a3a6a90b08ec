namespace AgentSpend.Tests.Shared;

/// <summary>
/// A read-only stream over another whose synchronous reads throw, as Kestrel's request body does without
/// AllowSynchronousIO: a reader that blocks a thread on the upload fails here at once, whatever the server allows.
/// </summary>
internal sealed class AsyncOnlyStream(Stream inner) : Stream
{
    public const string Refusal = "Synchronous operations are disallowed.";

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException(Refusal);

    public override int Read(Span<byte> buffer) => throw new InvalidOperationException(Refusal);

    public override int ReadByte() => throw new InvalidOperationException(Refusal);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
