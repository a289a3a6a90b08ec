using System.Text;
using System.Text.RegularExpressions;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Tenancy;

/// <summary>
/// Walks every endpoint in the app's route table, so endpoints added later are covered without anyone
/// adding them here: with keys of workspace A against the data of workspace B, with every scope that
/// lacks the endpoint's right, and with no key. Nothing of B may leak or change.
/// </summary>
public sealed class IsolationWalkTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string SecretAgent = "b-secret-agent";
    private const string SecretRun = "b-secret-run";
    private const string SecretName = "b-secret-workspace";
    private const string BModel = "b-private-model";

    /// <summary>How a route parameter names a thing of workspace B. A new parameter must be added here, or the walk fails.</summary>
    private static string TargetOf(string routePrefix, string parameter, (string Workspace, string Key, string Budget, string Alert, string Webhook, string Reservation) b) => (routePrefix, parameter) switch
    {
        ("/api/v1/workspaces", "id") => b.Workspace,
        ("/api/v1/keys", "id") => b.Key,
        ("/api/v1/pricing", "model") => BModel,
        ("/api/v1/agents", "name") => SecretAgent,
        ("/api/v1/runs", "id") => SecretRun,
        ("/api/v1/budgets", "id") => b.Budget,
        ("/api/v1/tools", "name") => BModel,
        ("/api/v1/sessions", "id") => SecretRun,
        ("/api/v1/alerts", "id") => b.Alert,
        ("/api/v1/alerts", "webhookId") => b.Webhook,
        ("/api/v1/check", "id") => b.Reservation,
        ("/api/v1/admin", "name") => StorageNames.IngestQueue, // instance-wide, as queues are: no workspace key may reach it
        _ => throw new InvalidOperationException($"The isolation walk does not know which of B's things '{{{parameter}}}' under {routePrefix} names; add it to TargetOf."),
    };

    /// <summary>
    /// Parameters that name something every workspace has its own of (a model's price): A acting on that name
    /// acts on A's own, which the walk allows; B's stays untouched and unseen (the snapshot and leak checks).
    /// </summary>
    private static readonly HashSet<(string, string)> OwnedByEach = [("/api/v1/pricing", "model"), ("/api/v1/tools", "name")];

    [Fact]
    public async Task No_key_of_workspace_A_reads_or_changes_anything_of_workspace_B_on_any_endpoint()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "false",
            ["AGENTSPEND_KEY_USAGE_FLUSH_SECONDS"] = "3600",
        });
        var (a, aAdmin) = await app.CreateWorkspaceAsync(new { name = "workspace-a" });
        var (b, bAdmin) = await app.CreateWorkspaceAsync(new { name = SecretName });
        var aKeys = new Dictionary<string, string>
        {
            ["admin"] = aAdmin,
            ["ingest"] = await NewKeyAsync(app, aAdmin, "ingest"),
            ["read"] = await NewKeyAsync(app, aAdmin, "read"),
        };
        var bKey = (await app.SendAsync("POST", "/api/v1/keys", new { name = "b-reader", scopes = new[] { "read" } }, bAdmin)).Body!.Value;
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        var bEvents = Enumerable.Range(0, 30).Select(i => new
        {
            agent_name = SecretAgent, provider = "anthropic", model = "claude", timestamp = DateTimeOffset.UtcNow.ToString("O"), input_tokens = 100 + i, idempotency_key = $"b{i}",
            run_id = SecretRun, session_id = SecretRun,
        }).ToArray();
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = bEvents }, bAdmin)).Status);
        Assert.Equal(200, (await app.SendAsync("PUT", $"/api/v1/pricing/models/{BModel}", new { input = 1, output = 2, note = SecretName }, bAdmin)).Status);
        await AggregateQueuedAsync(app);
        Assert.Equal(200, (await app.SendAsync("PUT", $"/api/v1/tools/{BModel}", new { cost_per_call_usd = 0.5m, note = SecretName }, bAdmin)).Status);
        var bBudget = await app.SendAsync("POST", "/api/v1/budgets", new { name = SecretName, scope = "agent", scope_value = SecretAgent, metric = "cost_usd", period = "daily", limit = 5m }, bAdmin);
        Assert.Equal(201, bBudget.Status);
        var bWebhook = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = $"http://127.0.0.1:9/{SecretName}" }, bAdmin);
        Assert.Equal(201, bWebhook.Status);
        var bAlert = new AgentSpend.Core.Alerts.Alert
        {
            Id = AgentSpend.Core.Alerts.AlertStore.NewId(DateTimeOffset.UtcNow), WorkspaceId = b, Kind = AgentSpend.Core.Alerts.Alert.UnpricedModel,
            Key = "unpriced|" + BModel, Message = $"{SecretAgent} used {BModel}, which has no price.", RaisedAt = DateTimeOffset.UtcNow, Model = BModel,
        };
        Assert.True(await app.Services.GetRequiredService<AgentSpend.Core.Alerts.AlertStore>().RaiseAsync(bAlert, CancellationToken.None));
        var bReservation = await app.SendAsync("POST", "/api/v1/check", new { agent_name = SecretAgent, estimated_cost_usd = 0.1m, reserve = true, run_id = SecretRun }, bAdmin);
        Assert.Equal(200, bReservation.Status);
        var bBefore = await SnapshotAsync(app, b);
        var bTarget = (b, bKey.Str("id")!, bBudget.Body!.Value.Str("id")!, bAlert.Id, bWebhook.Body!.Value.Str("id")!, bReservation.Body!.Value.GetProperty("reservation").Str("id")!);

        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal))
            .ToArray();
        var walked = new List<string>();
        var failures = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var pattern = endpoint.RoutePattern.RawText!;
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                Assert.Contains(pattern, new[] { "/api/health", "/api/health/live", "/api/health/ready", "/api/openapi.json" }); // the only endpoints open to anyone: they hold no data
                continue;
            }

            var policy = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(d => d.Policy).SingleOrDefault(p => p is not null);
            Assert.True(policy is not null, $"{pattern} requires no policy: every endpoint but health must name one");
            var allowed = AuthPolicies.ScopesFor[policy!];
            var prefix = Regex.Match(pattern, @"^/api/v1/[^/{]+").Value;
            var path = Regex.Replace(pattern, @"\{\*?([^}:?]+)[^}]*\}", m => TargetOf(prefix, m.Groups[1].Value, bTarget)).TrimEnd('/');
            var targetsB = Regex.Matches(pattern, @"\{\*?([^}:?]+)[^}]*\}").Any(m => !OwnedByEach.Contains((prefix, m.Groups[1].Value)));
            var smuggled = path + (path.Contains('?') ? "&" : "?") + $"workspace={b}&workspace_id={b}";
            foreach (var method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods)
            {
                var body = method is "POST" or "PATCH" or "PUT" ? BodyFor(path, b) : null;
                walked.Add($"{method} {pattern}");

                var anonymous = await app.SendAsync(method, smuggled, body, key: null);
                Expect(anonymous.Status == 401, $"{method} {pattern} without a key answered {anonymous.Status}");

                foreach (var (scope, key) in aKeys)
                {
                    var reply = await app.SendAsync(method, smuggled, body, key);
                    var label = $"{method} {path} with A's {scope} key answered {reply.Status}";
                    Expect(reply.Status < 500, label);
                    Expect(!reply.Text.Contains(SecretAgent, StringComparison.Ordinal) && !reply.Text.Contains(SecretName, StringComparison.Ordinal)
                           && !reply.Text.Contains(bKey.Str("prefix")!, StringComparison.Ordinal), $"{label} and leaked B's data");
                    if (!allowed.Contains(scope))
                    {
                        Expect(reply.Status == 403, $"{label}; the {scope} scope lacks {policy}: expected 403");
                    }
                    else if (targetsB)
                    {
                        // Endpoints that refuse unknown parameters may refuse the smuggled workspace ones first.
                        var refusedSmuggling = reply.Status == 400 && reply.Text.Contains("\"field\":\"workspace", StringComparison.Ordinal);
                        Expect(reply.Status is 401 or 403 or 404 || refusedSmuggling, $"{label} for B's resource: expected 401, 403 or 404");
                    }
                }
            }
        }

        void Expect(bool condition, string failure)
        {
            if (!condition)
            {
                failures.Add(failure);
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(walked.Count >= 14, $"walked only {walked.Count} endpoints");
        Assert.Equal(bBefore, await SnapshotAsync(app, b));
        var bOverview = (await app.SendAsync("GET", "/api/v1/metrics/overview", key: bAdmin)).Body!.Value;
        Assert.Equal((30L, Enumerable.Range(100, 30).Sum()), (bOverview.Long("events"), bOverview.Long("input_tokens")));
        Assert.Equal(0L, (await app.SendAsync("GET", "/api/v1/metrics/overview", key: aAdmin)).Body!.Value.Long("events")); // A's own ingests are queued, not yet counted
    }

    /// <summary>A body that would do harm if it reached B: valid enough to get past parsing where it can.</summary>
    private static object BodyFor(string path, string b) => path switch
    {
        _ when path.EndsWith("/ingest", StringComparison.Ordinal) => new
        {
            events = new[] { new { agent_name = "intruder", provider = "x", model = "y", timestamp = DateTimeOffset.UtcNow.ToString("O"), idempotency_key = "intrude" } },
        },
        _ when path.Contains("/keys", StringComparison.Ordinal) && path.EndsWith("/rotate", StringComparison.Ordinal) => new { grace_seconds = 0 },
        _ when path.Contains("/keys", StringComparison.Ordinal) => new { name = "intruder", scopes = new[] { "admin" } },
        _ when path.Contains("/pricing/models/", StringComparison.Ordinal) => new { input = 0, output = 0, note = "intruder" },
        _ when path.EndsWith("/kill", StringComparison.Ordinal) || path.EndsWith("/kill-all", StringComparison.Ordinal) => new { reason = "intruder" },
        _ when path.Contains("/tools/", StringComparison.Ordinal) => new { cost_per_call_usd = 0, note = "intruder" },
        _ when path.Contains("/budgets", StringComparison.Ordinal) => new { scope = "workspace", metric = "calls", period = "daily", limit = 1 },
        _ when path.Contains("/alerts/webhooks", StringComparison.Ordinal) => new { url = "http://127.0.0.1:9/intruder", enabled = false },
        _ => new { name = "intruder", retention_days = 1 },
    };

    private static async Task<string> NewKeyAsync(TestApp app, string admin, string scope) =>
        (await app.SendAsync("POST", "/api/v1/keys", new { name = scope, scopes = new[] { scope } }, admin)).Body!.Value.Str("key")!;

    private static async Task AggregateQueuedAsync(TestApp app)
    {
        var queue = app.Storage.GetQueue(StorageNames.IngestQueue);
        while (await queue.ReceiveAsync(32, TimeSpan.FromMinutes(1)) is { Count: > 0 } batch)
        {
            await app.Services.GetRequiredService<UsageAggregator>().AggregateAsync(batch.Select(m => IngestMessageCodec.Unpack(m.Text)).ToArray(), CancellationToken.None);
            foreach (var m in batch)
            {
                await queue.DeleteAsync(m.MessageId, m.PopReceipt);
            }
        }
    }

    /// <summary>Every stored row of workspace B, with its ETag: any write to B shows up here.</summary>
    private static async Task<string> SnapshotAsync(TestApp app, string b)
    {
        var snapshot = new StringBuilder();
        var byPartition = TableClient.CreateQueryFilter($"PartitionKey ge {b} and PartitionKey lt {b + "}"}");
        foreach (var table in new[] { StorageNames.UsageTable, StorageNames.LimitsTable, StorageNames.AuditTable, StorageNames.PriceOverridesTable, StorageNames.AlertsTable, StorageNames.WebhooksTable,
            StorageNames.ReservationsTable, StorageNames.BudgetsTable, StorageNames.ControlsTable, StorageNames.ToolsTable })
        {
            await foreach (var row in app.Storage.GetTable(table).QueryAsync(byPartition))
            {
                snapshot.Append(table).Append(' ').Append(row.PartitionKey).Append(' ').Append(row.RowKey).Append(' ').Append(row.ETag).Append('\n');
            }
        }

        await foreach (var row in app.Storage.GetTable(StorageNames.ApiKeysTable).QueryAsync(TableClient.CreateQueryFilter($"WorkspaceId eq {b}")))
        {
            snapshot.Append("key ").Append(row.RowKey).Append(' ').Append(row.ETag).Append('\n');
        }

        var workspace = await app.Storage.GetTable(StorageNames.WorkspacesTable).GetIfExistsAsync("ws", b);
        snapshot.Append("workspace ").Append(workspace!.ETag);
        return snapshot.ToString();
    }
}
