using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AgentSpend.Core.Observability;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Observability;

/// <summary>The app's own metrics (meter AgentSpend) as an exporter reads them: exact counts, queue depths and lag.</summary>
public sealed class AppMetricsTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Accepted_counted_and_duplicate_events_and_checks_are_counted_exactly()
    {
        await using var app = await TestApp.StartAsync(azurite);
        using var metrics = new AppMeters(app);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "metrics" });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        object Batch(int from, int count) => new { events = Enumerable.Range(from, count).Select(i => EventFactory.Wire(i, today, $"m-{i}")).ToArray() };

        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", Batch(0, 600), admin)).Status);
        await app.WaitForEventsAsync(600, Json.Day(today), Json.Day(today), key: admin);
        // A client resends 600 with 150 new ones among them.
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", Batch(0, 750), admin)).Status);
        await app.WaitForEventsAsync(750, Json.Day(today), Json.Day(today), key: admin);
        Assert.Equal(200, (await app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder", estimated_cost_usd = 0.01m }, admin)).Status);

        Assert.Equal(1350, metrics.Sum("agentspend.events.accepted", ("channel", "Api")));
        Assert.Equal(750, metrics.Sum("agentspend.events.counted"));
        Assert.Equal(600, metrics.Sum("agentspend.events.duplicates"));
        Assert.Equal(1, metrics.Count("agentspend.check.duration", ("allowed", true)));
    }

    [Fact]
    public async Task The_queue_gauges_report_depths_poison_depths_and_the_age_of_the_oldest_waiting_message()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        using var metrics = new AppMeters(app);
        var ingest = app.Storage.GetQueue(StorageNames.IngestQueue);
        await ingest.SendAsync("{}");
        await ingest.SendAsync("{}");
        await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.AlertsQueue)).SendAsync("{}");
        await Task.Delay(TimeSpan.FromSeconds(2));

        var sample = await app.Services.GetRequiredService<QueueSampler>().SampleAsync(CancellationToken.None);
        metrics.Observe();

        Assert.NotNull(sample);
        Assert.Equal(2, metrics.Last("agentspend.queue.depth", ("queue", "usage-ingest")));
        Assert.Equal(0, metrics.Last("agentspend.queue.poison_depth", ("queue", "usage-ingest")));
        Assert.Equal(0, metrics.Last("agentspend.queue.depth", ("queue", "alerts")));
        Assert.Equal(1, metrics.Last("agentspend.queue.poison_depth", ("queue", "alerts")));
        Assert.InRange(metrics.Last("agentspend.aggregation.lag"), 1.5, 60);
    }

    /// <summary>Listens to one app's meter only (its IMeterFactory is the meter's scope): other apps in the test run do not count.</summary>
    private sealed class AppMeters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

        public AppMeters(TestApp app)
        {
            var scope = app.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == AgentSpendMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => _measurements.Enqueue((i.Name, v, tags.ToArray())));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => _measurements.Enqueue((i.Name, v, tags.ToArray())));
            _listener.Start();
        }

        public void Observe() => _listener.RecordObservableInstruments();

        public double Sum(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Sum(m => m.Value);

        public int Count(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Count();

        public double Last(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Last().Value;

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Name, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string name, (string Key, object Value)[] tags) =>
            _measurements.Where(m => m.Name == name && tags.All(t => m.Tags.Any(x => x.Key == t.Key && Equals(x.Value, t.Value))));
    }
}
