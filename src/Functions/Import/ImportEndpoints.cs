using AgentSpend.Core.Import;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace AgentSpend.Functions.Import;

/// <summary>
/// POST /api/v1/import?format=auto|claude-code-jsonl|codex-jsonl|csv|json&amp;provider=: a session file or a
/// provider usage export, as the raw body or the first file of a multipart upload, up to 100 MiB.
/// </summary>
public static class ImportEndpoints
{
    public static async Task<Results<Accepted<ImportSummary>, ProblemHttpResult, RetryLater<ProblemDetails>>> ImportAsync(
        string? format, string? provider, HttpRequest request, Caller caller, ImportService imports, CancellationToken cancellationToken)
    {
        if (!ImportService.TryParseFormat(format, out var parsedFormat))
        {
            return Problems.BadRequest("format", "use auto, claude-code-jsonl, codex-jsonl, csv or json.");
        }

        if (provider is { Length: > 64 } || provider?.Any(char.IsControl) == true)
        {
            return Problems.BadRequest("provider", "must be a provider name of at most 64 characters.");
        }

        if (request.ContentLength > ImportService.MaxUploadBytes)
        {
            return Problems.TooLarge("body", $"An import is at most {ImportService.MaxUploadBytes} bytes.");
        }

        // Larger than the server's default request limit.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = ImportService.MaxUploadBytes + (1024 * 1024);
        }

        var (upload, fileName) = await OpenUploadAsync(request, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return Problems.BadRequest("body", "A multipart upload must hold a file.");
        }

        try
        {
            var (summary, problem) = await imports.ImportAsync(upload, parsedFormat, provider, fileName, caller.Workspace, caller.KeyId, cancellationToken).ConfigureAwait(false);
            switch (problem)
            {
                case null:
                    return TypedResults.Accepted((string?)null, summary);
                case { Kind: IngestProblemKind.DailyLimit }:
                    return RetryLater.TooManyRequests(
                        Problems.DailyLimit,
                        problem.Detail + $" {summary.Imported} events were imported before the limit; importing the file again later counts nothing twice.",
                        problem.RetryAfter ?? Problems.DailyLimitRetry,
                        new Dictionary<string, object?> { ["imported"] = summary.Imported, ["lines"] = summary.Lines });
                case { Kind: IngestProblemKind.Unavailable }:
                    return RetryLater.ServiceUnavailable(Problems.QueueUnavailable, problem.Detail, problem.RetryAfter ?? StorageFaults.RetryAfter);
                default:
                    return Problems.BadRequest(problem.Field, problem.Detail);
            }
        }
        catch (ImportTooLargeException ex)
        {
            return Problems.TooLarge("body", $"An import is at most {ex.MaxBytes} bytes; what was read before the limit is queued, and importing a smaller file counts nothing twice.");
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.TooLarge("body", $"An import is at most {ImportService.MaxUploadBytes} bytes.");
        }
        catch (System.Text.Json.JsonException ex)
        {
            return Problems.BadRequest("body", $"The JSON document is not valid: {ex.Message}");
        }
    }

    private static async Task<(Stream? Body, string? FileName)> OpenUploadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return (request.Body, null);
        }

        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
        {
            return (null, null);
        }

        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = ImportService.MaxUploadBytes + 1 };
        while (await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false) is { } section)
        {
            if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) && disposition.IsFileDisposition())
            {
                return (section.Body, HeaderUtilities.RemoveQuotes(disposition.FileName).Value);
            }
        }

        return (null, null);
    }
}
