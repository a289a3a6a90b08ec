using AgentSpend.Core.Ingest;
using AgentSpend.Core.Otlp;
using AgentSpend.Core.Otlp.Proto;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Otlp;

/// <summary>The OTLP/HTTP receiver's three signals: ingest keys, rate limited.</summary>
public static class OtlpFunctions
{
    [Function("ReceiveOtlpLogs")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult ReceiveOtlpLogs([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/otlp/v1/logs")] HttpRequest request) =>
        EndpointHandler.Run(static (HttpRequest request, Caller caller, IngestService ingest, CancellationToken ct) =>
            OtlpEndpoints.ReceiveAsync(request, caller, ingest, ExportLogsServiceRequest.Parser, (export, _, _) => Task.FromResult(OtlpUsageMapper.FromLogs(export)), IngestChannel.CallRecords,
                rejected => new ExportLogsServiceResponse { PartialSuccess = rejected is { } r ? new ExportLogsPartialSuccess { RejectedLogRecords = r.Count, ErrorMessage = r.Message } : null }, ct));

    [Function("ReceiveOtlpTraces")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult ReceiveOtlpTraces([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/otlp/v1/traces")] HttpRequest request) =>
        EndpointHandler.Run(static (HttpRequest request, Caller caller, IngestService ingest, CancellationToken ct) =>
            OtlpEndpoints.ReceiveAsync(request, caller, ingest, ExportTraceServiceRequest.Parser, (export, _, _) => Task.FromResult(OtlpUsageMapper.FromTraces(export)), IngestChannel.CallRecords,
                rejected => new ExportTraceServiceResponse { PartialSuccess = rejected is { } r ? new ExportTracePartialSuccess { RejectedSpans = r.Count, ErrorMessage = r.Message } : null }, ct));

    [Function("ReceiveOtlpMetrics")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult ReceiveOtlpMetrics([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/otlp/v1/metrics")] HttpRequest request) =>
        EndpointHandler.Run(static (HttpRequest request, Caller caller, IngestService ingest, SessionMetricsReader metrics, CancellationToken ct) =>
            OtlpEndpoints.ReceiveAsync(request, caller, ingest, ExportMetricsServiceRequest.Parser, (export, workspace, token) => metrics.ReadAsync(export, workspace, token), IngestChannel.SessionMetrics,
                rejected => new ExportMetricsServiceResponse { PartialSuccess = rejected is { } r ? new ExportMetricsPartialSuccess { RejectedDataPoints = r.Count, ErrorMessage = r.Message } : null }, ct));
}
