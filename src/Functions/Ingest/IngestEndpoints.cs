using System.Globalization;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AgentSpend.Functions.Ingest;

public sealed record IngestResponse(int Accepted, int Rejected, IReadOnlyList<IngestError> Errors, IReadOnlyList<string> RejectedAgents);

/// <summary>POST /api/v1/ingest: where usage enters from SDKs and scripts.</summary>
public static class IngestEndpoints
{
    public static async Task<Results<Accepted<IngestResponse>, ProblemHttpResult, RetryLater<ProblemDetails>>> IngestAsync(
        HttpRequest request, Caller caller, IngestService ingest, CancellationToken cancellationToken)
    {
        // The SDKs send their batches gzip-compressed; the limit is the JSON's, before compression.
        var (body, problem) = await RequestBody.ReadDecodedAsync(request, IngestRequestParser.MaxBodyBytes, IngestRequestParser.MaxBodyBytes, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (!RequestBody.IsJson(request))
        {
            return Problems.UnsupportedMediaType();
        }

        return await AnswerAsync(request, caller, ingest, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ingests a native batch and answers as the ingest API does; shared by the other JSON intakes.</summary>
    internal static async Task<Results<Accepted<IngestResponse>, ProblemHttpResult, RetryLater<ProblemDetails>>> AnswerAsync(
        HttpRequest request, Caller caller, IngestService ingest, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var (receipt, problem) = await ingest.IngestAsync(body, caller.Workspace, IngestChannel.Api, caller.KeyId, cancellationToken).ConfigureAwait(false);
        switch (problem)
        {
            case null when receipt!.Accepted == 0 && receipt.Rejected > 0:
                // Nothing to queue: say so with an error status, listing every event's reason.
                return Problems.BadRequestEvents(receipt.Errors, receipt.RejectedAgents);
            case null:
                return TypedResults.Accepted((string?)null, new IngestResponse(receipt.Accepted, receipt.Rejected, receipt.Errors, receipt.RejectedAgents));
            case { Kind: IngestProblemKind.DailyLimit }:
                return RetryLater.TooManyRequests(Problems.DailyLimit, problem.Detail, problem.RetryAfter ?? Problems.DailyLimitRetry);
            case { Kind: IngestProblemKind.Unavailable }:
                return RetryLater.ServiceUnavailable(Problems.QueueUnavailable, problem.Detail, problem.RetryAfter ?? StorageFaults.RetryAfter);
            case { Kind: IngestProblemKind.TooLarge }:
                return Problems.TooLarge(problem.Field, problem.Detail);
            default:
                return Problems.BadRequest(problem.Field, problem.Detail);
        }
    }
}
