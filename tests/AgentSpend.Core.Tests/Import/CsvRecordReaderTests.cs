using System.Text;
using AgentSpend.Core.Import;
using AgentSpend.Tests.Shared;

namespace AgentSpend.Core.Tests;

public sealed class CsvRecordReaderTests
{
    /// <summary>Each record as "line: field|field", or "line! problem"; read from a stream whose synchronous reads throw.</summary>
    private static async Task<string[]> ReadAll(byte[] upload, int maxRecordBytes = 1024)
    {
        var records = new List<string>();
        await foreach (var record in new CsvRecordReader(new AsyncOnlyStream(new MemoryStream(upload)), maxRecordBytes).ReadAsync(CancellationToken.None))
        {
            records.Add(record.Fields is { } fields ? $"{record.Line}: {string.Join('|', fields)}" : $"{record.Line}! {record.Problem}");
        }

        return [.. records];
    }

    public static TheoryData<string, string[]> Files => new()
    {
        // Separators, doubled quotes and line breaks inside quotes.
        { "h1,h2\n\"a,\"\"b\"\"\nc\",d\r\ne,f", ["1: h1|h2", "2: a,\"b\"\nc|d", "4: e|f"] },
        // Spaces around a quoted field go, those of an unquoted one stay.
        { "h1,h2,h3\n 1 , \"x\" ,\" y \"\n", ["1: h1|h2|h3", "2:  1 |x| y "] },
        // A quote inside an unquoted field is text.
        { "h\nab\"c\n", ["1: h", "2: ab\"c"] },
        // Text after a closing quote: reported, and the next rows read.
        { "h1,h2\n1,2\n\"a\"b,3\n4,5\n", ["1: h1|h2", "2: 1|2", "3! " + CsvRecordReader.Malformed, "4: 4|5"] },
        // A quote never closed runs to the end.
        { "h\n1\n\"abc\nd\ne\n", ["1: h", "2: 1", "3! " + CsvRecordReader.Malformed] },
        // Empty and whitespace lines skipped, numbered all the same, with any line break.
        { "\r\nh\r\r \t\n1\r\n\n2", ["2: h", "5: 1", "7: 2"] },
        // Empty fields kept.
        { "h1,h2,h3\n,,\n1,,\n", ["1: h1|h2|h3", "2: ||", "3: 1||"] },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Reads_each_file_into_its_records_by_line_without_a_synchronous_read(string csv, string[] expected)
    {
        Assert.Equal(expected, await ReadAll(Encoding.UTF8.GetBytes(csv)));
    }

    [Fact]
    public async Task A_byte_order_mark_is_honoured_utf8_or_utf16()
    {
        byte[] utf8 = [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("model,é\nx,\"y\"\n")];
        byte[] utf16 = [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("model,é\nx,\"y\"\n")];

        Assert.Equal(["1: model|é", "2: x|y"], await ReadAll(utf8));
        Assert.Equal(["1: model|é", "2: x|y"], await ReadAll(utf16));
    }

    [Fact]
    public async Task A_record_over_the_limit_is_reported_and_ends_the_reading()
    {
        var csv = "h1,h2\n1,2\n3," + new string('x', 5_000) + "\n5,6\n";

        Assert.Equal(["1: h1|h2", "2: 1|2", "3! is longer than 1024 bytes; the rows after it were not read."], await ReadAll(Encoding.UTF8.GetBytes(csv)));
    }

    [Fact]
    public async Task A_large_upload_is_read_through_without_a_synchronous_read()
    {
        var csv = "id,note\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i},\"row {i}, quoted\"\n"));

        var records = await ReadAll(Encoding.UTF8.GetBytes(csv));

        Assert.Equal(20_001, records.Length);
        Assert.Equal("20001: 19999|row 19999, quoted", records[^1]);
    }
}
