using System.Reflection;
using AgentSpend.Core.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// The metrics filters of a request (agent, model, provider, user, team, harness, repo, key, tag.&lt;key&gt;), bound from
/// the query by minimal APIs. A handler that takes it takes the filters (<see cref="QueryContracts"/>, the OpenAPI
/// document), and answers <see cref="Problem"/> when there is one: binding never fails, since a failed binding would
/// answer a bare 400.
/// </summary>
public sealed class MetricsFilters
{
    private MetricsFilters(MetricsFilter filter, ProblemHttpResult? problem)
    {
        Filter = filter;
        Problem = problem;
    }

    public MetricsFilter Filter { get; }

    public ProblemHttpResult? Problem { get; }

    public static ValueTask<MetricsFilters?> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        // The other parameters are the endpoint's own; unknown ones were refused before its handler ran.
        var filter = MetricsFilter.Parse(
            context.Request.Query.Select(q => KeyValuePair.Create(q.Key, q.Value.Select(v => v ?? string.Empty).ToArray())), out var error);
        return ValueTask.FromResult<MetricsFilters?>(new MetricsFilters(filter, error is null ? null : Problems.BadRequest(error.Parameter, error.Reason)));
    }
}
