using System.IO.Compression;
using AgentSpend.Core.Otlp;

namespace AgentSpend.Core.Tests;

/// <summary>What inflating an OTLP body allocates: a bomb next to nothing, a real body its own size once.</summary>
public sealed class GunzipMemoryTests
{
    private static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var zip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(content);
        }

        return output.ToArray();
    }

    [Fact]
    public void A_gzip_bomb_is_refused_having_allocated_less_than_a_mebibyte()
    {
        var bomb = Gzip(new byte[OtlpDecoder.MaxDecodedBytes + (8 * 1024 * 1024)]); // 40 MiB of zeros: about 40 KiB on the wire

        var before = GC.GetAllocatedBytesForCurrentThread();
        var inflated = OtlpDecoder.Gunzip(bomb);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Null(inflated);
        Assert.InRange(allocated, 0, 1024 * 1024);
    }

    [Fact]
    public void A_body_at_the_limit_is_inflated_into_one_array_of_its_size()
    {
        var content = new byte[OtlpDecoder.MaxDecodedBytes];
        new Random(7).NextBytes(content.AsSpan(0, 1024 * 1024)); // some of it incompressible
        var body = Gzip(content);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var inflated = OtlpDecoder.Gunzip(body);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(content, inflated);
        Assert.InRange(allocated, OtlpDecoder.MaxDecodedBytes, OtlpDecoder.MaxDecodedBytes + (1024 * 1024)); // was ~4× before: growing buffers and copies
    }
}
