using System.Buffers;

namespace AgentSpend.Core.Import;

/// <summary>One line of an upload: its 1-based number and bytes (without the line break), or that it was too long.</summary>
public readonly record struct Line(long Number, ReadOnlyMemory<byte> Bytes, bool TooLong);

/// <summary>
/// Splits a stream into lines without loading it whole: a pooled buffer that grows to at most
/// <c>maxLineBytes</c>. A longer line is reported as <see cref="Line.TooLong"/> and skipped to its end.
/// The memory a line's bytes live in is reused for the next line.
/// </summary>
public sealed class LineReader(Stream stream, int maxLineBytes) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxLineBytes, 1 << 20) + 1);
    private int _start;
    private int _end;
    private bool _eof;
    private long _number;

    /// <summary>Bytes read from the stream so far.</summary>
    public long BytesRead { get; private set; }

    public async ValueTask<Line?> ReadAsync(CancellationToken cancellationToken)
    {
        var skipping = false;
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = new ReadOnlyMemory<byte>(_buffer, _start, newline);
                _start += newline + 1;
                _number++;
                if (skipping)
                {
                    return new Line(_number, default, TooLong: true);
                }

                return new Line(_number, TrimCarriageReturn(line), TooLong: false);
            }

            if (_eof)
            {
                if (_end == _start && !skipping)
                {
                    return null;
                }

                var last = new ReadOnlyMemory<byte>(_buffer, _start, _end - _start);
                _start = _end;
                _number++;
                return skipping ? new Line(_number, default, true) : new Line(_number, TrimCarriageReturn(last), false);
            }

            if (_end - _start >= maxLineBytes)
            {
                // The line is longer than allowed: drop what we have and skip to its end.
                skipping = true;
                _start = _end = 0;
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, maxLineBytes + 1));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        BytesRead += read;
        _end += read;
        _eof = read == 0;
    }

    private static ReadOnlyMemory<byte> TrimCarriageReturn(ReadOnlyMemory<byte> line) =>
        line.Length > 0 && line.Span[^1] == (byte)'\r' ? line[..^1] : line;

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
