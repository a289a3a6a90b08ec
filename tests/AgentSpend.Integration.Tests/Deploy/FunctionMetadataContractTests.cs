using System.Text.Json;
using AgentSpend.Core.Storage;
using AgentSpend.Functions;

namespace AgentSpend.Integration.Tests.Deploy;

/// <summary>
/// Every function as the build defines it for the Functions host (<c>functions.metadata</c>, from the same generated
/// provider local mode reads): a change of a route, a method, a queue or a schedule shows here, on purpose or not.
/// </summary>
public sealed class FunctionMetadataContractTests
{
    private static readonly Dictionary<string, string> Pinned = new(StringComparer.Ordinal)
    {
        ["AggregateUsage"] = "queue usage-ingest",
        ["BudgetPeriods"] = "timer 0 */5 * * * *",
        ["Check"] = "http POST /api/v1/check",
        ["CreateBudget"] = "http POST /api/v1/budgets",
        ["CreateKey"] = "http POST /api/v1/keys",
        ["CreateWebhook"] = "http POST /api/v1/alerts/webhooks",
        ["CreateWorkspace"] = "http POST /api/v1/workspaces",
        ["CreateWorkspaceKey"] = "http POST /api/v1/workspaces/{id}/keys",
        ["Dashboard"] = "http GET /dashboard/{**path}",
        ["DeleteBudget"] = "http DELETE /api/v1/budgets/{id}",
        ["DeletePriceOverride"] = "http DELETE /api/v1/pricing/models/{*model}",
        ["DeleteTool"] = "http DELETE /api/v1/tools/{name}",
        ["DeleteWebhook"] = "http DELETE /api/v1/alerts/webhooks/{webhookId}",
        ["DeleteWorkspace"] = "http DELETE /api/v1/workspaces/{id}",
        ["DeliverAlerts"] = "queue alerts",
        ["GetAgent"] = "http GET /api/v1/agents/{name}",
        ["GetAlert"] = "http GET /api/v1/alerts/{id}",
        ["GetBudget"] = "http GET /api/v1/budgets/{id}",
        ["GetCurrentKey"] = "http GET /api/v1/keys/current",
        ["GetEfficiencySettings"] = "http GET /api/v1/settings/efficiency",
        ["GetKey"] = "http GET /api/v1/keys/{id}",
        ["GetMetricsBreakdown"] = "http GET /api/v1/metrics/breakdown",
        ["GetMetricsBurnRate"] = "http GET /api/v1/metrics/burn-rate",
        ["GetMetricsConcentration"] = "http GET /api/v1/metrics/concentration",
        ["GetMetricsEfficiency"] = "http GET /api/v1/metrics/efficiency",
        ["GetOpenApiDocument"] = "http GET /api/openapi.json",
        ["GetMetricsOverview"] = "http GET /api/v1/metrics/overview",
        ["GetMetricsTimeseries"] = "http GET /api/v1/metrics/timeseries",
        ["GetModelPrice"] = "http GET /api/v1/pricing/models/{*model}",
        ["GetPricingCatalog"] = "http GET /api/v1/pricing",
        ["GetRun"] = "http GET /api/v1/runs/{id}",
        ["GetSession"] = "http GET /api/v1/sessions/{id}",
        ["GetWebhook"] = "http GET /api/v1/alerts/webhooks/{webhookId}",
        ["GetWorkspace"] = "http GET /api/v1/workspaces/{id}",
        ["Health"] = "http GET /api/health",
        ["HealthLive"] = "http GET /api/health/live",
        ["HealthReady"] = "http GET /api/health/ready",
        ["Import"] = "http POST /api/v1/import",
        ["Ingest"] = "http POST /api/v1/ingest",
        ["KillAgent"] = "http POST /api/v1/agents/{name}/kill",
        ["KillAllAgents"] = "http POST /api/v1/agents/kill-all",
        ["ListAdminQueues"] = "http GET /api/v1/admin/queues",
        ["ListAgents"] = "http GET /api/v1/agents",
        ["ListAlerts"] = "http GET /api/v1/alerts",
        ["ListAuditEntries"] = "http GET /api/v1/audit",
        ["ListBudgets"] = "http GET /api/v1/budgets",
        ["ListEvents"] = "http GET /api/v1/events",
        ["ListKeys"] = "http GET /api/v1/keys",
        ["ListRunEvents"] = "http GET /api/v1/runs/{id}/events",
        ["ListRuns"] = "http GET /api/v1/runs",
        ["ListSessionEvents"] = "http GET /api/v1/sessions/{id}/events",
        ["ListSessions"] = "http GET /api/v1/sessions",
        ["ListTools"] = "http GET /api/v1/tools",
        ["ListUnpricedModels"] = "http GET /api/v1/pricing/unpriced",
        ["ListWebhooks"] = "http GET /api/v1/alerts/webhooks",
        ["ListWorkspaces"] = "http GET /api/v1/workspaces",
        ["PostRunEvent"] = "http POST /api/events",
        ["PurgeWorkspaces"] = "timer 0 */5 * * * *",
        ["PutEfficiencySettings"] = "http PUT /api/v1/settings/efficiency",
        ["PutPriceOverride"] = "http PUT /api/v1/pricing/models/{*model}",
        ["PutTool"] = "http PUT /api/v1/tools/{name}",
        ["ReceiveOtlpLogs"] = "http POST /api/otlp/v1/logs",
        ["ReceiveOtlpMetrics"] = "http POST /api/otlp/v1/metrics",
        ["ReceiveOtlpTraces"] = "http POST /api/otlp/v1/traces",
        ["ReleaseReservation"] = "http DELETE /api/v1/check/reservations/{id}",
        ["ReplaceBudget"] = "http PUT /api/v1/budgets/{id}",
        ["ReplaceWebhook"] = "http PUT /api/v1/alerts/webhooks/{webhookId}",
        ["ReplayPoisonQueue"] = "http POST /api/v1/admin/queues/{name}/replay",
        ["Reprice"] = "http POST /api/v1/pricing/reprice",
        ["ResetBudget"] = "http POST /api/v1/budgets/{id}/reset",
        ["ResumeAgent"] = "http POST /api/v1/agents/{name}/resume",
        ["ResumeAllAgents"] = "http POST /api/v1/agents/resume-all",
        ["Retention"] = "timer 0 30 3 * * *",
        ["RevokeKey"] = "http POST /api/v1/keys/{id}/revoke",
        ["RotateKey"] = "http POST /api/v1/keys/{id}/rotate",
        ["RunCompletion"] = "timer 0 * * * * *",
        ["UpdateWorkspace"] = "http PATCH /api/v1/workspaces/{id}",
    };

    [Fact]
    public async Task The_generated_metadata_defines_exactly_the_pinned_functions_with_anonymous_http_and_the_apps_storage_for_queues()
    {
        var functions = await new GeneratedFunctionMetadataProvider().GetFunctionMetadataAsync(AppContext.BaseDirectory);
        var described = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var function in functions)
        {
            using var trigger = JsonDocument.Parse(function.RawBindings!.Single(b => b.Contains("Trigger\"", StringComparison.Ordinal)));
            var b = trigger.RootElement;
            string Str(string name) => b.GetProperty(name).GetString()!;
            described[function.Name!] = Str("type") switch
            {
                // The app authenticates every request itself (API keys, deny by default): the host lets all through.
                "httpTrigger" when Str("authLevel") == "Anonymous" =>
                    $"http {string.Join(',', b.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()))} /{Str("route")}",
                "queueTrigger" when Str("connection") == "AzureWebJobsStorage" => $"queue {Str("queueName")}",
                "timerTrigger" => $"timer {Str("schedule")}",
                var other => $"unexpected {other}: {b.GetRawText()}",
            };
        }

        Assert.Equal(Pinned.OrderBy(p => p.Key, StringComparer.Ordinal), described.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(StorageNames.TriggerQueues.Order(StringComparer.Ordinal), described.Values.Where(v => v.StartsWith("queue ", StringComparison.Ordinal)).Select(v => v[6..]).Order(StringComparer.Ordinal));
        var triggered = described.Values.Where(v => !v.StartsWith("timer ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(triggered.Length, triggered.Distinct(StringComparer.Ordinal).Count()); // no route and method, and no queue, twice
    }
}
