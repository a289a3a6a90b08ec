using AgentSpend.Core.Alerts;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentSpend.Core.Tests.Poison;

public sealed class PoisonedMessageAlertsTests
{
    private static UsageEvent Event(string workspace, int i) => new()
    {
        Id = $"e{i}", WorkspaceId = workspace, Day = "2026-12-05", Timestamp = new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero),
        Agent = "coder", Provider = "anthropic", Model = "claude-sonnet-4-5", InputTokens = 1,
    };

    [Fact]
    public void An_ingest_message_belongs_to_each_workspace_whose_events_it_carries_with_how_many()
    {
        var text = Assert.Single(IngestMessageCodec.Pack([Event("ws_a", 0), Event("ws_b", 1), Event("ws_a", 2), Event("ws_a", 3), Event("ws_b", 4)]));

        Assert.Equal([("ws_a", (int?)3), ("ws_b", 2)], PoisonedMessageAlerts.OwnersOf(StorageNames.IngestQueue, text));
    }

    [Theory]
    [InlineData(StorageNames.IngestQueue, "b1:not an ingest message")]
    [InlineData(StorageNames.IngestQueue, "")]
    [InlineData(StorageNames.AlertsQueue, "{\"AlertId\":")]
    [InlineData(StorageNames.AlertsQueue, "{\"WorkspaceId\":\"\",\"AlertId\":\"x\"}")]
    [InlineData("some-other-queue", "{\"WorkspaceId\":\"ws_a\",\"AlertId\":\"x\"}")]
    public void A_message_that_cannot_be_read_belongs_to_no_workspace(string queue, string text) =>
        Assert.Empty(PoisonedMessageAlerts.OwnersOf(queue, text));

    [Fact]
    public void An_alert_delivery_message_belongs_to_the_workspace_it_names_and_carries_no_events() =>
        Assert.Equal([("ws_a", (int?)null)], PoisonedMessageAlerts.OwnersOf(StorageNames.AlertsQueue, new AlertMessage("ws_a", "0000000000000000001-0123abcd", 2).ToJson()));

    [Fact]
    public void The_alert_is_keyed_by_queue_and_utc_hour_and_says_what_was_poisoned_and_how_to_replay_it()
    {
        var hour = new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
        var first = PoisonedMessageAlerts.AlertFor("ws_a", StorageNames.IngestQueue, 3, hour, hour.AddMinutes(7));
        var sameHour = PoisonedMessageAlerts.AlertFor("ws_a", StorageNames.IngestQueue, 1, hour, hour.AddMinutes(59));
        var alerts = PoisonedMessageAlerts.AlertFor("ws_a", StorageNames.AlertsQueue, null, hour, hour.AddMinutes(8));
        var nextHour = PoisonedMessageAlerts.AlertFor("ws_a", StorageNames.IngestQueue, 3, hour.AddHours(1), hour.AddMinutes(61));

        Assert.Equal(("ingest_poisoned", "ws_a", "poisoned|usage-ingest|2026-12-05T09", hour.AddMinutes(7)), (first.Kind, first.WorkspaceId, first.Key, first.RaisedAt));
        Assert.Equal(first.Key, sameHour.Key);
        Assert.Equal(["poisoned|alerts|2026-12-05T09", "poisoned|usage-ingest|2026-12-05T10"], new[] { alerts.Key, nextHour.Key });
        Assert.Equal(new PoisonedAlertDetails("usage-ingest", "usage-ingest-poison", 3, "2026-12-05T09:00:00.0000000+00:00"), first.Poisoned);
        Assert.Equal(new PoisonedAlertDetails("alerts", "alerts-poison", null, "2026-12-05T09:00:00.0000000+00:00"), alerts.Poisoned);
        Assert.Equal(
            "A usage-ingest message carrying 3 of this workspace's events failed every try and was moved to usage-ingest-poison: those events are not counted until an instance admin replays it (POST /api/v1/admin/queues/usage-ingest/replay). Other messages poisoned in the hour from 2026-12-05 09:00 UTC raise no further alert; GET /api/v1/admin/queues counts them.",
            first.Message);
        Assert.StartsWith("A usage-ingest message carrying 1 of this workspace's event failed", sameHour.Message, StringComparison.Ordinal);
        Assert.StartsWith("A message of this workspace on the alerts queue failed every try and was moved to alerts-poison; an instance admin can replay it (POST /api/v1/admin/queues/alerts/replay).", alerts.Message, StringComparison.Ordinal);
        Assert.True(AlertStore.IsWellFormedId(first.Id));
    }

    private sealed class ActiveWorkspaces : IWorkspaceDirectory
    {
        public Task<Workspace?> FindAsync(string workspaceId, CancellationToken cancellationToken) =>
            Task.FromResult<Workspace?>(new Workspace(workspaceId, TimeZoneInfo.Utc));

        public Task<IReadOnlyList<Workspace>> ListAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Raising_never_throws_so_a_failure_to_alert_cannot_stop_the_poisoning()
    {
        var storage = new InMemoryQueues(); // no tables: raising the alert fails
        var clock = new TestClock(new DateTimeOffset(2026, 12, 5, 9, 30, 0, TimeSpan.Zero));
        var alerts = new PoisonedMessageAlerts(new AlertStore(storage, clock, NullLogger<AlertStore>.Instance), new ActiveWorkspaces(), clock, NullLogger<PoisonedMessageAlerts>.Instance);
        var text = Assert.Single(IngestMessageCodec.Pack([Event("ws_a", 0)]));

        await alerts.RaiseForAsync(StorageNames.IngestQueue, text, CancellationToken.None);
        await alerts.RaiseForAsync(StorageNames.IngestQueue, "b1:unreadable", CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await alerts.RaiseForAsync(StorageNames.IngestQueue, text, cancelled.Token);
    }
}
