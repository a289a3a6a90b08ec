using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Import;

public enum ImportFormat
{
    Auto,
    ClaudeCodeJsonl,
    CodexJsonl,
    Csv,
    Json,
}

/// <summary>Why one line (or, in a JSON document, one record) was refused.</summary>
public sealed record ImportLineError(long Line, string Field, string Reason);

public sealed record ImportSummary(
    string Format, long Lines, long Imported, long Skipped, long Duplicates, long Rejected,
    IReadOnlyList<ImportLineError> Errors, IReadOnlyList<string> IgnoredColumns, IReadOnlyList<string> RejectedAgents);

/// <summary>
/// Imports usage from files: Claude Code session JSONL, Codex rollout JSONL, and provider usage exports
/// (CSV, JSON or JSON lines). Streams the upload line by line, so a 100 MiB file never sits in memory
/// (a JSON document that is not an array of records is the exception: it is parsed whole). Each usage
/// record becomes a native event and goes through the same validation, pricing, limits, queue and
/// exactly-once aggregation as the batch API, 1,000 at a time. Every record's idempotency key is the
/// provider's call id, or its content's hash: importing the same file again counts nothing twice.
/// </summary>
public sealed partial class ImportService(IngestService ingest, ILogger<ImportService> logger)
{
    public const long MaxUploadBytes = 100L * 1024 * 1024;
    public const int MaxLineBytes = 10 * 1024 * 1024;
    public const int MaxReportedErrors = 100;
    private const int HeadBytes = 8192;

    private static readonly JsonSerializerOptions ArrayOptions = new() { MaxDepth = 64 };

    /// <summary>Where exports wrap their records.</summary>
    private static readonly string[] Wrappers = ["data", "items", "logs", "records", "results", "usage"];

    public static bool TryParseFormat(string? text, out ImportFormat format)
    {
        format = text?.ToLowerInvariant() switch
        {
            null or "" or "auto" => ImportFormat.Auto,
            "claude-code-jsonl" => ImportFormat.ClaudeCodeJsonl,
            "codex-jsonl" => ImportFormat.CodexJsonl,
            "csv" => ImportFormat.Csv,
            "json" => ImportFormat.Json,
            _ => (ImportFormat)(-1),
        };
        return Enum.IsDefined(format);
    }

    /// <returns>The summary, or the ingest problem that stopped the import (the daily quota, say).</returns>
    public async Task<(ImportSummary Summary, IngestProblem? Problem)> ImportAsync(
        Stream upload, ImportFormat format, string? provider, string? fileName, Workspace workspace, string? keyId, CancellationToken cancellationToken)
    {
        var head = new byte[HeadBytes];
        var headLength = 0;
        int read;
        while (headLength < head.Length && (read = await upload.ReadAsync(head.AsMemory(headLength), cancellationToken).ConfigureAwait(false)) > 0)
        {
            headLength += read;
        }

        Array.Resize(ref head, headLength);
        if (format == ImportFormat.Auto)
        {
            format = Detect(head, fileName);
        }

        using var stream = new PrefixedReadStream(head, upload, MaxUploadBytes);
        using var run = new ImportRun(ingest, workspace, keyId, provider, format, cancellationToken);
        var formatName = FormatName(format);
        LogStarted(logger, workspace.Id, formatName);
        switch (format)
        {
            case ImportFormat.Csv:
                await ImportCsvAsync(stream, run).ConfigureAwait(false);
                break;
            case ImportFormat.Json when head.AsSpan().TrimStart(" \t\r\n"u8).StartsWith("["u8):
                await ImportJsonArrayAsync(stream, run).ConfigureAwait(false);
                break;
            case ImportFormat.Json when !LooksLikeJsonLines(head):
                await ImportJsonDocumentAsync(stream, run).ConfigureAwait(false);
                break;
            default:
                await ImportLinesAsync(stream, run).ConfigureAwait(false);
                break;
        }

        await run.FlushAsync().ConfigureAwait(false);
        var summary = run.Summary(formatName);
        LogFinished(logger, workspace.Id, summary.Lines, summary.Imported, summary.Skipped, summary.Duplicates, summary.Rejected);
        return (summary, run.Problem);
    }

    private static async Task ImportLinesAsync(Stream stream, ImportRun run)
    {
        using var lines = new LineReader(stream, MaxLineBytes);
        while (!run.Stopped && await lines.ReadAsync(run.CancellationToken).ConfigureAwait(false) is { } line)
        {
            run.Lines = line.Number;
            if (line.TooLong)
            {
                run.Error(line.Number, "line", $"is longer than {MaxLineBytes} bytes.");
                continue;
            }

            var bytes = line.Bytes.Span.Trim(" \t"u8);
            if (bytes.IsEmpty)
            {
                continue;
            }

            // Most session lines are prompts, tool calls and answers: skip them before parsing.
            if (run.Format is ImportFormat.ClaudeCodeJsonl && bytes.IndexOf("\"usage\""u8) < 0
                || run.Format is ImportFormat.CodexJsonl && bytes.IndexOf("token_usage_record"u8) < 0 && bytes.IndexOf("turn_context"u8) < 0)
            {
                run.Skipped++;
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line.Bytes, new JsonDocumentOptions { MaxDepth = 64 });
            }
            catch (JsonException)
            {
                run.Error(line.Number, "line", "is not valid JSON.");
                continue;
            }

            using (document)
            {
                await run.AddAsync(line.Number, document.RootElement, Encoding.UTF8.GetString(bytes)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>CSV records as the upload arrives (see <see cref="CsvRecordReader"/>); the first is the header.</summary>
    private static async Task ImportCsvAsync(Stream stream, ImportRun run)
    {
        string[]? headers = null;
        await foreach (var record in new CsvRecordReader(stream, MaxLineBytes).ReadAsync(run.CancellationToken).ConfigureAwait(false))
        {
            if (headers is null)
            {
                if (record.Fields is null)
                {
                    break;
                }

                headers = record.Fields;
                run.Columns(headers);
            }
            else if (record.Fields is null)
            {
                run.Lines = record.Line;
                run.Error(record.Line, "line", record.Problem!);
            }
            else if (record.Fields.Any(f => f.Length > 0))
            {
                run.Lines = record.Line;
                await run.AddRecordAsync(record.Line, UsageRecord.FromColumns(headers, record.Fields), string.Join('\u001f', record.Fields)).ConfigureAwait(false);
            }

            if (run.Stopped)
            {
                break;
            }
        }

        if (headers is null)
        {
            run.Fail("body", "The CSV file has no header row.");
        }
    }

    private static async Task ImportJsonArrayAsync(Stream stream, ImportRun run)
    {
        var index = 0L;
        await foreach (var element in JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, ArrayOptions, run.CancellationToken).ConfigureAwait(false))
        {
            run.Lines = ++index;
            if (run.Stopped)
            {
                break;
            }

            await run.AddRecordAsync(index, element).ConfigureAwait(false);
        }
    }

    /// <summary>A JSON object: the records of its wrapper array (<c>{"data":[…]}</c>) read one by one, or the object itself.</summary>
    private static async Task ImportJsonDocumentAsync(Stream stream, ImportRun run)
    {
        var index = 0L;
        await foreach (var record in new JsonRecordReader(stream, Wrappers, maxDepth: 64).ReadAsync(run.CancellationToken).ConfigureAwait(false))
        {
            run.Lines = ++index;
            if (run.Stopped)
            {
                break;
            }

            await run.AddRecordAsync(index, record).ConfigureAwait(false);
        }
    }

    private static ImportFormat Detect(ReadOnlySpan<byte> head, string? fileName)
    {
        var extension = Path.GetExtension(fileName ?? "").ToLowerInvariant();
        var text = head.TrimStart(" \t\r\n"u8);
        if (extension == ".csv" || (!text.IsEmpty && text[0] is not (byte)'{' and not (byte)'['))
        {
            return ImportFormat.Csv;
        }

        if (text.IndexOf("\"token_usage_record\""u8) >= 0 || text.IndexOf("\"session_meta\""u8) >= 0 || text.IndexOf("\"turn_context\""u8) >= 0)
        {
            return ImportFormat.CodexJsonl;
        }

        return text.IndexOf("\"sessionId\""u8) >= 0 && (text.IndexOf("\"parentUuid\""u8) >= 0 || text.IndexOf("\"type\""u8) >= 0)
            ? ImportFormat.ClaudeCodeJsonl
            : ImportFormat.Json;
    }

    /// <summary>JSON lines: the first line is a whole object and another line follows.</summary>
    private static bool LooksLikeJsonLines(ReadOnlySpan<byte> head)
    {
        var text = head.TrimStart(" \t\r\n"u8);
        var newline = text.IndexOf((byte)'\n');
        if (newline <= 0 || text[0] != (byte)'{')
        {
            return false;
        }

        var reader = new Utf8JsonReader(text[..newline]);
        try
        {
            return reader.Read() && reader.TrySkip() && reader.BytesConsumed > 0 && text[..newline][(int)reader.BytesConsumed..].Trim(" \t\r"u8).IsEmpty;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string FormatName(ImportFormat format) => format switch
    {
        ImportFormat.ClaudeCodeJsonl => "claude-code-jsonl",
        ImportFormat.CodexJsonl => "codex-jsonl",
        ImportFormat.Csv => "csv",
        _ => "json",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Import into workspace {WorkspaceId} started ({Format})")]
    private static partial void LogStarted(ILogger logger, string workspaceId, string format);

    [LoggerMessage(Level = LogLevel.Information, Message = "Import into workspace {WorkspaceId} done: {Lines} lines, {Imported} imported, {Skipped} skipped, {Duplicates} duplicates, {Rejected} rejected")]
    private static partial void LogFinished(ILogger logger, string workspaceId, long lines, long imported, long skipped, long duplicates, long rejected);
}
