using System.IO.Compression;

namespace AgentSpend.Core.Ingest;

/// <summary>Request bodies sent gzip-compressed (the SDKs' batches, OTLP exports).</summary>
public static class Gzip
{
    /// <summary>
    /// Inflates a gzip body; null when it grows past <paramref name="maxBytes"/>. Two passes, so that memory stays
    /// bounded: the first only measures (through a small buffer, stopping past the limit, so a bomb costs next to
    /// nothing), the second inflates into an array of exactly that size. No growing buffers, no copies of the body.
    /// </summary>
    /// <exception cref="InvalidDataException">The body is not gzip.</exception>
    public static byte[]? Inflate(ReadOnlyMemory<byte> body, long maxBytes)
    {
        var size = 0L;
        var chunk = new byte[81920];
        using (var measure = new GZipStream(Source(body), CompressionMode.Decompress))
        {
            int read;
            while ((read = measure.Read(chunk)) > 0)
            {
                size += read;
                if (size > maxBytes)
                {
                    return null;
                }
            }
        }

        var inflated = new byte[size];
        using var input = new GZipStream(Source(body), CompressionMode.Decompress);
        input.ReadExactly(inflated);
        return inflated;
    }

    private static MemoryStream Source(ReadOnlyMemory<byte> body) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);
}
