using AgentSpend.Core.Alerts;
using AgentSpend.Core.Governance;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Governance;

/// <summary>The per-workspace caps on webhooks and budgets hold when many are created at once, and deleting frees room.</summary>
public sealed class CountLimitTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> Settings = new() { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" };

    [Fact]
    public async Task Sixty_webhooks_created_at_once_leave_exactly_the_cap_of_twenty()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "cap-webhooks" });
        await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = "https://hooks.example.com/first" }, admin); // a count row comes with the first

        var replies = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = $"https://hooks.example.com/{i}" }, admin)));
        var listed = (await app.SendAsync("GET", "/api/v1/alerts/webhooks", key: admin)).Body!.Value.GetProperty("items").GetArrayLength();

        Assert.Equal(WebhookStore.MaxWebhooksPerWorkspace - 1, replies.Count(r => r.Status == 201));
        Assert.Equal(60 - (WebhookStore.MaxWebhooksPerWorkspace - 1), replies.Count(r => r.Status == 409));
        Assert.All(replies.Where(r => r.Status == 409), r => Assert.Equal("application/problem+json", r.MediaType));
        Assert.Equal(WebhookStore.MaxWebhooksPerWorkspace, listed);

        // Deleting one makes room for exactly one.
        var first = (await app.SendAsync("GET", "/api/v1/alerts/webhooks", key: admin)).Body!.Value.GetProperty("items")[0].Str("id");
        Assert.Equal(204, (await app.SendAsync("DELETE", $"/api/v1/alerts/webhooks/{first}", key: admin)).Status);
        var again = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = $"https://hooks.example.com/again-{i}" }, admin)));
        Assert.Equal((1, 4), (again.Count(r => r.Status == 201), again.Count(r => r.Status == 409)));
    }

    [Fact]
    public async Task Budgets_created_at_once_on_a_partition_written_before_the_count_row_stop_exactly_at_the_cap()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "cap-budgets" });
        // Budgets stored before counting existed: rows without a count row beside them.
        var table = app.Storage.GetTable(StorageNames.BudgetsTable);
        const int Existing = BudgetStore.MaxBudgetsPerWorkspace - 10;
        foreach (var batch in Enumerable.Range(0, Existing).Chunk(100))
        {
            await table.SubmitTransactionAsync([.. batch.Select(i => new Azure.Data.Tables.TableTransactionAction(Azure.Data.Tables.TableTransactionActionType.Add, new Azure.Data.Tables.TableEntity(workspace, $"bud_{i:x16}")
            {
                ["Scope"] = "workspace", ["Metric"] = "calls", ["Period"] = "daily", ["Limit"] = "1000000", ["Thresholds"] = "[80,100]", ["Action"] = "alert",
                ["CreatedAt"] = DateTimeOffset.UtcNow, ["UpdatedAt"] = DateTimeOffset.UtcNow,
            }))]);
        }

        var replies = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => app.SendAsync(
            "POST", "/api/v1/budgets", new { name = $"b{i}", scope = "agent", scope_value = $"agent-{i}", metric = "calls", period = "daily", limit = 10 }, admin)));
        var listed = (await app.SendAsync("GET", "/api/v1/budgets", key: admin)).Body!.Value.GetProperty("items").GetArrayLength();

        Assert.Equal((10, 30), (replies.Count(r => r.Status == 201), replies.Count(r => r.Status == 409)));
        Assert.Equal(BudgetStore.MaxBudgetsPerWorkspace, listed);
    }

    [Fact]
    public async Task An_agent_budget_can_be_set_before_the_agent_sends_usage_and_counts_it_once_it_does()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "new-agent" });
        var ingest = (await app.SendAsync("POST", "/api/v1/keys", new { name = "ingest", scopes = new[] { "ingest" } }, admin)).Body!.Value.Str("key")!;

        var created = await app.SendAsync("POST", "/api/v1/budgets", new { name = "newcomer", scope = "agent", scope_value = "brand-new-agent", metric = "calls", period = "daily", limit = 10 }, admin);
        Assert.Equal((201, 0m), (created.Status, created.Body!.Value.GetProperty("usage").GetProperty("used").GetDecimal()));

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var events = Enumerable.Range(0, 3).Select(i =>
        {
            var e = EventFactory.WireFields(i, today, $"newcomer-{i}");
            e["agent_name"] = "brand-new-agent";
            return e;
        }).ToArray();
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events }, ingest)).Status);
        await app.WaitForEventsAsync(3, Json.Day(today), Json.Day(today), TimeSpan.FromSeconds(60), admin);

        var read = await app.SendAsync("GET", $"/api/v1/budgets/{created.Body.Value.Str("id")}", key: admin);
        Assert.Equal(3m, read.Body!.Value.GetProperty("usage").GetProperty("used").GetDecimal());
    }
}
