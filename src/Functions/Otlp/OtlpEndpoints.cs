using System.Globalization;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Limits;
using AgentSpend.Core.Otlp;
using AgentSpend.Core.Otlp.Proto;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using Google.Protobuf;
using Microsoft.Net.Http.Headers;

namespace AgentSpend.Functions.Otlp;

/// <summary>
/// OTLP/HTTP receiver: set <c>OTEL_EXPORTER_OTLP_ENDPOINT=&lt;base&gt;/api/otlp</c> and the exporters post
/// here. Protobuf or JSON, gzip or not. Answers as the OTLP spec says: 200 with <c>partialSuccess</c> naming
/// what was refused, 400 for a body that cannot be read, 413, 415, 429 with Retry-After, and 503 with Retry-After
/// when the events could not all be queued (the exporter retries; what was queued is counted once).
/// </summary>
public static class OtlpEndpoints
{
    /// <summary>Largest body on the wire (compressed or not).</summary>
    public const int MaxBodyBytes = 16 * 1024 * 1024;

    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    public static async Task<IResult> ReceiveAsync<TRequest, TResponse>(
        HttpRequest request, Caller caller, IngestService ingest, MessageParser<TRequest> parser,
        Func<TRequest, AgentSpend.Core.Workspaces.Workspace, CancellationToken, Task<OtlpBatch>> map, IngestChannel channel,
        Func<(long Count, string Message)?, TResponse> respond, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        var json = MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Equals(Json, StringComparison.OrdinalIgnoreCase);
        if (!json && !(type?.MediaType.Equals(Protobuf, StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "The body's media type is not supported.", "Content-Type", $"must be {Protobuf} or {Json}.");
        }

        var (bytes, unreadable) = await RequestBody.ReadDecodedAsync(request, MaxBodyBytes, OtlpDecoder.MaxDecodedBytes, cancellationToken).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }

        TRequest export;
        try
        {
            export = OtlpDecoder.Parse(bytes.Span, json, parser);
        }
        catch (OtlpFormatException ex)
        {
            return Problems.BadRequest("body", ex.Message);
        }

        if (OtlpDecoder.TooMany(export) is { } tooMany)
        {
            return Problems.TooLarge("body", tooMany);
        }

        var batch = await map(export, caller.Workspace, cancellationToken).ConfigureAwait(false);
        long rejected = batch.Refused;
        var reasons = new List<string>(batch.RefusalReasons);
        var charge = new IngestCharge(); // one for the export's batches: a 503 gives back all of them
        foreach (var native in batch.NativeBatches)
        {
            var (receipt, problem) = await ingest.IngestAsync(native, caller.Workspace, channel, caller.KeyId, charge, cancellationToken).ConfigureAwait(false);
            if (problem is { Kind: IngestProblemKind.DailyLimit })
            {
                return RetryLater.TooManyRequests(Problems.DailyLimit, problem.Detail, problem.RetryAfter ?? Problems.DailyLimitRetry);
            }

            if (problem is { Kind: IngestProblemKind.Unavailable })
            {
                return RetryLater.ServiceUnavailable(Problems.QueueUnavailable, problem.Detail, problem.RetryAfter ?? StorageFaults.RetryAfter);
            }

            if (problem is not null)
            {
                return Problems.BadRequest(problem.Field, problem.Detail);
            }

            rejected += receipt!.Rejected;
            reasons.AddRange(receipt.Errors.Take(5 - Math.Min(5, reasons.Count)).Select(e => $"usage record {e.Index}: {e.Field} {e.Reason}"));
            if (receipt.RejectedAgents.Count > 0)
            {
                reasons.Add("agents over the plan's limit: " + string.Join(", ", receipt.RejectedAgents));
            }
        }

        if (batch.AfterQueued is { } afterQueued)
        {
            await ingest.AfterQueuedAsync(afterQueued, caller.Workspace, charge, cancellationToken).ConfigureAwait(false);
        }

        var response = respond(rejected > 0 ? (rejected, string.Join("; ", reasons)) : null);
        return json
            ? Results.Text(JsonFormatter.Default.Format(response), Json)
            : Results.Bytes(response.ToByteArray(), Protobuf);
    }
}
