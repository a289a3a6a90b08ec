using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;

namespace AgentSpend.Core.Import;

/// <summary>One CSV record: the line it starts on, and its fields or, when it could not be read, why not.</summary>
internal readonly record struct CsvRecord(long Line, string[]? Fields, string? Problem);

/// <summary>
/// The records of a CSV upload, read as it arrives with CsvHelper's reader, whose every read of the stream is
/// asynchronous. It reads a file as the runtime's TextFieldParser, the import's reader before it, did, so files
/// import as they did: RFC 4180 quoting (separators, line breaks and doubled quotes inside quotes), spaces or tabs
/// around a quoted field, lines of only whitespace skipped, a byte order mark honoured. A record is numbered by the
/// line it starts on (TextFieldParser gave one that follows blank lines the number of the first of them, and dropped
/// blank lines inside quotes). Text after a closing quote, or a quote never closed, makes a record that cannot be
/// read, and reading goes on with the next one; a record longer than the limit ends the reading, as its end cannot
/// be found without holding all of it.
/// </summary>
internal sealed class CsvRecordReader(Stream stream, int maxRecordBytes)
{
    public const string Malformed = "is not a valid CSV row (an unclosed quote?).";

    public async IAsyncEnumerable<CsvRecord> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var malformed = new HashSet<long>();
        var options = new CsvReaderOptions
        {
            Separator = ',',
            DetectSeparatorHint = false,
            HasHeader = false, // the caller's header is the first record, read like the others
            TrackLineNumbers = true,
            // So that a quote after spaces still opens a quoted field; unquoted fields are taken untrimmed below.
            TrimWhitespace = true,
            // A quote inside an unquoted field stays text, as it did; the two cases below were refused, and still are.
            MalformedData = CsvMalformedDataHandling.Recover,
            OnMalformedRecord = record =>
            {
                if (record.Reason is CsvMalformedReason.TextAfterClosingQuote or CsvMalformedReason.UnterminatedQuote)
                {
                    malformed.Add(record.LineNumber);
                }
            },
            MaxRecordSize = maxRecordBytes,
        };

        var csv = CsvReader.Create(stream, options, leaveOpen: true);
        await using (csv.ConfigureAwait(false))
        {
            while (true)
            {
                bool read;
                long tooLong = 0;
                try
                {
                    read = await csv.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (CsvFormatException ex)
                {
                    // Recovering from bad quoting, the reader throws only for a record over MaxRecordSize.
                    (read, tooLong) = (false, ex.LineNumber);
                }

                if (tooLong > 0)
                {
                    yield return new CsvRecord(tooLong, null, $"is longer than {maxRecordBytes} bytes; the rows after it were not read.");
                }

                if (!read)
                {
                    yield break;
                }

                if (malformed.Remove(csv.LineNumber))
                {
                    yield return new CsvRecord(csv.LineNumber, null, Malformed);
                    continue;
                }

                if (Fields(csv) is { } fields)
                {
                    yield return new CsvRecord(csv.LineNumber, fields, null);
                }
            }
        }
    }

    /// <summary>The record's fields: quoted ones unquoted, the others exactly as written; null for a line of only whitespace.</summary>
    private static string[]? Fields(CsvReader csv)
    {
        var fields = new string[csv.FieldCount];
        var quoted = false;
        for (var i = 0; i < fields.Length; i++)
        {
            var raw = csv.GetRawSpan(i);
            if (raw.TrimStart(" \t"u8).StartsWith("\""u8))
            {
                fields[i] = csv.GetString(i);
                quoted = true;
            }
            else
            {
                fields[i] = Encoding.UTF8.GetString(raw);
            }
        }

        return !quoted && fields.Length == 1 && string.IsNullOrWhiteSpace(fields[0]) ? null : fields;
    }
}
