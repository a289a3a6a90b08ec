using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Metrics;

/// <summary>The metrics views: read keys, each taking the metrics filters.</summary>
public static class MetricsFunctions
{
    [Function("GetMetricsOverview")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetMetricsOverview([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/metrics/overview")] HttpRequest request) =>
        EndpointHandler.Run(MetricsEndpoints.GetOverviewAsync);

    [Function("GetMetricsTimeseries")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetMetricsTimeseries([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/metrics/timeseries")] HttpRequest request) =>
        EndpointHandler.Run(MetricsEndpoints.GetTimeseriesAsync);

    [Function("GetMetricsBreakdown")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetMetricsBreakdown([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/metrics/breakdown")] HttpRequest request) =>
        EndpointHandler.Run(MetricsEndpoints.GetBreakdownAsync);

    [Function("GetMetricsConcentration")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetMetricsConcentration([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/metrics/concentration")] HttpRequest request) =>
        EndpointHandler.Run(MetricsEndpoints.GetConcentrationAsync);

    [Function("GetMetricsBurnRate")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetMetricsBurnRate([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/metrics/burn-rate")] HttpRequest request) =>
        EndpointHandler.Run(MetricsEndpoints.GetBurnRateAsync);

    [Function("GetMetricsEfficiency")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetMetricsEfficiency([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/metrics/efficiency")] HttpRequest request) =>
        EndpointHandler.Run(MetricsEndpoints.GetEfficiencyAsync);
}
