using System.Security.Claims;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Ingest;

public sealed record IngestResponse(int Accepted, int Rejected, IReadOnlyList<IngestError> Errors);

/// <summary>POST /api/v1/ingest: where usage enters from SDKs and scripts.</summary>
public static class IngestEndpoints
{
    public static void MapIngest(this IEndpointRouteBuilder app) =>
        app.MapPost("/api/v1/ingest", IngestAsync)
            .RequireAuthorization(AuthPolicies.Ingest);

    public static async Task<Results<Accepted<IngestResponse>, ProblemHttpResult>> IngestAsync(
        HttpRequest request, ClaimsPrincipal user, IngestService ingest, IWorkspaceDirectory workspaces, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync(request, IngestRequestParser.MaxBodyBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return Problems.TooLarge("body", $"The body must be at most {IngestRequestParser.MaxBodyBytes} bytes.");
        }

        var (receipt, problem) = await ingest.IngestAsync(body.Value, workspaces.Find(user.WorkspaceId()), cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem.Kind == IngestProblemKind.TooLarge
                ? Problems.TooLarge(problem.Field, problem.Detail)
                : Problems.BadRequest(problem.Field, problem.Detail);
        }

        return TypedResults.Accepted((string?)null, new IngestResponse(receipt!.Accepted, receipt.Rejected, receipt.Errors));
    }
}
