using System.Text.Json;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Import;

/// <summary>The state of one import: the batch being built, the counts, and the errors by line.</summary>
internal sealed class ImportRun(IngestService ingest, Workspace workspace, string? keyId, string? provider, ImportFormat format, CancellationToken cancellationToken) : IDisposable
{
    private static readonly HashSet<string> KnownColumns = new(StringComparer.OrdinalIgnoreCase)
    {
        "model", "model_name", "model_version", "timestamp", "created_at", "time", "date", "start_time", "created", "usage_date", "starting_at",
        "request_id", "response_id", "id", "message_id", "cost_usd", "cost", "total_cost", "cost_in_usd", "amount",
        "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_read_tokens", "cache_write_tokens",
        "cache_creation_tokens", "uncached_input_tokens", "prompt_tokens", "completion_tokens", "cached_tokens", "input_cached_tokens", "reasoning_tokens",
        "prompt_token_count", "candidates_token_count", "cached_content_token_count", "thoughts_token_count",
        "agent_name", "agent", "user_id", "user", "email", "api_key_name", "team", "workspace_name", "project_name", "project_id",
        "session_id", "conversation_id", "provider",
    };

    private readonly SessionFileMapper _sessions = new();

    // One charge for the whole file: a chunk that cannot be queued gives back what the earlier chunks took, as the
    // client is told to send the file again.
    private readonly Limits.IngestCharge _charge = new();
    private readonly List<ImportLineError> _errors = [];
    private readonly List<long> _batchLines = new(IngestRequestParser.MaxEvents);
    private readonly HashSet<string> _rejectedAgents = new(StringComparer.Ordinal);
    private MemoryStream _buffer = new();
    private Utf8JsonWriter? _json;
    private IReadOnlyList<string> _ignoredColumns = [];
    private long _rejected;

    public ImportFormat Format { get; } = format;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public long Lines { get; set; }

    public long Imported { get; private set; }

    public long Skipped { get; set; }

    public long Duplicates { get; private set; }

    public IngestProblem? Problem { get; private set; }

    public bool Stopped => Problem is not null;

    public void Error(long line, string field, string reason)
    {
        _rejected++;
        if (_errors.Count < ImportService.MaxReportedErrors)
        {
            _errors.Add(new ImportLineError(line, field, reason));
        }
    }

    public void Fail(string field, string reason) => Problem = new IngestProblem(IngestProblemKind.MalformedBody, field, reason);

    public void Columns(string[] headers)
    {
        _ignoredColumns = headers.Where(h => !KnownColumns.Contains(h.Trim()) && !h.Contains('.', StringComparison.Ordinal)).ToArray();
        var probe = UsageRecord.FromColumns(headers, headers.Select(_ => "0").ToArray());
        if (provider is null && ProviderExportMapper.Detect(probe) is null)
        {
            Fail("body", "The CSV header names no token columns: expected input_tokens/output_tokens (Anthropic), prompt_tokens/completion_tokens (OpenAI) or prompt_token_count/candidates_token_count (Gemini).");
        }
    }

    /// <summary>A session-file line or a JSON-lines record.</summary>
    public Task AddAsync(long line, JsonElement root, string text)
    {
        var json = Writer();
        var kind = Format switch
        {
            ImportFormat.ClaudeCodeJsonl => _sessions.WriteClaudeCode(json, root),
            ImportFormat.CodexJsonl => _sessions.WriteCodex(json, root),
            _ => root.ValueKind == JsonValueKind.Object && ProviderExportMapper.Write(json, UsageRecord.FromJson(root), provider, "import", text) ? LineKind.Usage : LineKind.Skipped,
        };
        return CountAsync(line, kind);
    }

    /// <summary>A CSV row or a record of a JSON document.</summary>
    public Task AddRecordAsync(long line, UsageRecord record, string text) =>
        CountAsync(line, ProviderExportMapper.Write(Writer(), record, provider, "import", text) ? LineKind.Usage : LineKind.Skipped);

    public Task AddRecordAsync(long line, JsonElement record) =>
        record.ValueKind == JsonValueKind.Object
            ? AddRecordAsync(line, UsageRecord.FromJson(record), record.GetRawText())
            : CountAsync(line, LineKind.Skipped);

    public async Task FlushAsync()
    {
        if (_json is null || _batchLines.Count == 0)
        {
            return;
        }

        _json.WriteEndArray();
        _json.WriteEndObject();
        await _json.FlushAsync(CancellationToken).ConfigureAwait(false);
        var (receipt, problem) = await ingest.IngestAsync(_buffer.ToArray(), workspace, IngestChannel.CallRecords, keyId, _charge, CancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            Problem = problem;
        }
        else
        {
            Imported += receipt!.Accepted;
            foreach (var error in receipt.Errors)
            {
                Error(_batchLines[error.Index], error.Field, error.Reason);
            }

            _rejectedAgents.UnionWith(receipt.RejectedAgents);
        }

        await _json.DisposeAsync().ConfigureAwait(false);
        _json = null;
        await _buffer.DisposeAsync().ConfigureAwait(false);
        _buffer = new MemoryStream();
        _batchLines.Clear();
    }

    public ImportSummary Summary(string formatName) =>
        new(formatName, Lines, Imported, Skipped, Duplicates, _rejected, _errors.OrderBy(e => e.Line).ToArray(), _ignoredColumns, _rejectedAgents.Order(StringComparer.Ordinal).ToArray());

    public void Dispose()
    {
        _json?.Dispose();
        _buffer.Dispose();
    }

    private Utf8JsonWriter Writer()
    {
        if (_json is null)
        {
            _json = new Utf8JsonWriter(_buffer);
            _json.WriteStartObject();
            _json.WriteStartArray("events");
        }

        return _json;
    }

    private async Task CountAsync(long line, LineKind kind)
    {
        switch (kind)
        {
            case LineKind.Usage:
                _batchLines.Add(line);
                if (_batchLines.Count == IngestRequestParser.MaxEvents)
                {
                    await FlushAsync().ConfigureAwait(false);
                }

                break;
            case LineKind.Duplicate:
                Duplicates++;
                break;
            default:
                Skipped++;
                break;
        }
    }
}
