using AgentSpend.Core.Ingest;
using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Ingest;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AgentSpend.Functions.RunEvents;

/// <summary>
/// POST /api/events: one run event as optimisation SDKs send it,
/// <c>{run_id, framework, model_name, tokens_before, tokens_after, task_success, timestamp}</c>.
/// It goes through the same validation, limits and queue as a native batch of one.
/// </summary>
public static class RunEventEndpoints
{
    public const int MaxBodyBytes = 64 * 1024;

    public static async Task<Results<Accepted<IngestResponse>, ProblemHttpResult, RetryLater<ProblemDetails>>> PostAsync(
        HttpRequest request, Caller caller, IngestService ingest, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync(request, MaxBodyBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return Problems.TooLarge("body", $"The body must be at most {MaxBodyBytes} bytes.");
        }

        if (!RequestBody.IsJson(request))
        {
            return Problems.UnsupportedMediaType();
        }

        if (body.Value.IsEmpty)
        {
            return Problems.BadRequest("body", "A run event object is required.");
        }

        // A single object becomes a batch of one; its bytes are copied as they are, never re-serialised.
        var batch = new byte[body.Value.Length + 13];
        "{\"events\":["u8.CopyTo(batch);
        body.Value.Span.CopyTo(batch.AsSpan(11));
        batch[^1] = (byte)'}';
        batch[^2] = (byte)']';
        return await IngestEndpoints.AnswerAsync(request, caller, ingest, batch, cancellationToken).ConfigureAwait(false);
    }
}
