using System.Text;
using System.Text.Json;
using AgentSpend.Core.Import;

namespace AgentSpend.Core.Tests;

public sealed class JsonRecordReaderTests
{
    private static readonly string[] Wrappers = ["data", "items", "logs", "records", "results", "usage"];

    /// <summary>An upload that arrives a few bytes at a time, as a slow client sends it.</summary>
    private sealed class Trickle(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }

    private static async Task<List<string>> ReadAll(string json, int chunk)
    {
        var records = new List<string>();
        await foreach (var record in new JsonRecordReader(new Trickle(Encoding.UTF8.GetBytes(json), chunk), Wrappers, 64).ReadAsync(CancellationToken.None))
        {
            records.Add(record.GetRawText());
        }

        return records;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100_000)]
    public async Task The_wrapper_arrays_records_are_read_one_by_one_whatever_comes_before_and_after(int chunk)
    {
        const string json = """{"object":"page","meta":{"data":[9],"n":[1,[2]]},"data":[{"x":1},{"x":"a\"]}"},[3],4],"has_more":false}""";

        Assert.Equal(["""{"x":1}""", """{"x":"a\"]}"}""", "[3]", "4"], await ReadAll(json, chunk));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100_000)]
    public async Task An_object_without_a_wrapper_array_is_itself_the_record(int chunk)
    {
        const string json = """ {"model":"m","data":"not an array","tokens":[1,2]} """;

        Assert.Equal(["""{"model":"m","data":"not an array","tokens":[1,2]}"""], await ReadAll(json, chunk));
    }

    [Theory]
    [InlineData("""{"data":[{"x":1},{"x":]}""")]
    [InlineData("""{"data":[{"x":1}""")]
    [InlineData("""{"data":[{"x":1},{"x""")]
    [InlineData("""{"a":1""")]
    public async Task Malformed_or_cut_off_json_throws_a_json_exception(string json) =>
        await Assert.ThrowsAnyAsync<JsonException>(() => ReadAll(json, 3));

    [Fact]
    public async Task A_large_export_is_read_holding_one_small_buffer_not_the_file()
    {
        var record = """{"model":"claude-sonnet-4","input_tokens":1200,"output_tokens":340,"timestamp":"2026-12-01T10:00:00Z"}""";
        var json = "{\"object\":\"list\",\"data\":[" + string.Join(',', Enumerable.Repeat(record, 200_000)) + "]}"; // ~20 MiB
        var reader = new JsonRecordReader(new Trickle(Encoding.UTF8.GetBytes(json), 16 * 1024), Wrappers, 64);

        var count = 0;
        await foreach (var element in reader.ReadAsync(CancellationToken.None))
        {
            Assert.Equal(1200, element.GetProperty("input_tokens").GetInt32());
            count++;
        }

        Assert.Equal(200_000, count);
        Assert.Equal(64 * 1024, reader.BufferSize);
    }
}
