using System.Diagnostics;
using AgentSpend.Core;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Recovery;

/// <summary>
/// The app is SIGKILLed while it aggregates a 20,000-event backlog of realistic events (runs, sessions, users, teams,
/// tags), then restarted; and two instances count one day at once while one of them is SIGKILLed. Every event is counted once.
/// </summary>
public sealed class CrashRecoveryTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const int Events = 20_000;
    private static readonly Workspace Utc = new(Workspace.DefaultId, TimeZoneInfo.Utc);

    [Fact]
    public async Task Totals_are_exact_after_a_SIGKILL_two_seconds_into_a_20000_event_backlog_and_a_restart()
    {
        var days = new[] { DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2), DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) };
        var queue = await QueueAsync(Enumerable.Range(0, Events).Select(i => EventFactory.QueuedRealistic(i, days[i % 2], "s:crash-")));
        var range = new MetricsRange(days[0], days[1]);

        long countedAtKill;
        using (var first = StartApp())
        {
            await WaitUntilCountingAsync(range);
            await Task.Delay(2_000);
            first.Kill(); // SIGKILL: no graceful shutdown, messages stay leased, transactions may be in flight
            await first.WaitForExitAsync();
            countedAtKill = await CountedAsync(range);
        }

        Assert.InRange(countedAtKill, 1, Events - 1); // the kill really landed mid-backlog

        using var second = StartApp();
        try
        {
            await AssertAllCountedAsync(range, queue);
        }
        finally
        {
            await StopAsync(second);
        }
    }

    [Fact]
    public async Task Two_instances_counting_one_day_at_once_stay_exact_when_one_is_SIGKILLed_and_comes_back()
    {
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-4);
        var queue = await QueueAsync(Enumerable.Range(0, Events).Select(i => EventFactory.QueuedRealistic(i, day, "s:race-")));
        var range = new MetricsRange(day, day);

        var a = StartApp();
        using var b = StartApp();
        try
        {
            await WaitUntilCountingAsync(range);
            await Task.Delay(1_500);
            a.Kill();
            await a.WaitForExitAsync();
            var countedAtKill = await CountedAsync(range);
            Assert.InRange(countedAtKill, 1, Events - 1);
            a.Dispose();
            a = StartApp(); // back, racing b again for what is left and for the messages a held when it died
            await AssertAllCountedAsync(range, queue);
        }
        finally
        {
            await StopAsync(a);
            await StopAsync(b);
            a.Dispose();
        }
    }

    private async Task<IQueueStore> QueueAsync(IEnumerable<Core.Domain.UsageEvent> events)
    {
        await azurite.Storage.EnsureStorageAsync(CancellationToken.None);
        var queue = azurite.Storage.GetQueue(StorageNames.IngestQueue);
        foreach (var batch in events.Chunk(1000))
        {
            foreach (var text in IngestMessageCodec.Pack(batch))
            {
                await queue.SendAsync(text);
            }
        }

        return queue;
    }

    private MetricsService Metrics => new(azurite.Storage, new DayVersions(azurite.Storage, TimeProvider.System), new StorageFanOut(), TimeProvider.System);

    private async Task<long> CountedAsync(MetricsRange range) => (await Metrics.OverviewAsync(Utc, range, MetricsFilter.None, CancellationToken.None)).Events;

    private async Task WaitUntilCountingAsync(MetricsRange range)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await CountedAsync(range) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
    }

    private async Task AssertAllCountedAsync(MetricsRange range, IQueueStore queue)
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while ((await CountedAsync(range) < Events || await queue.GetApproximateCountAsync() > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        var overview = await Metrics.OverviewAsync(Utc, range, MetricsFilter.None, CancellationToken.None);
        var expected = EventFactory.Expected(Enumerable.Range(0, Events));
        Assert.Equal(expected, (overview.Events, overview.InputTokens, overview.OutputTokens, overview.CostUsd, overview.UnpricedEvents));
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.Equal(0, await azurite.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
    }

    private static async Task StopAsync(Process app)
    {
        if (!app.HasExited)
        {
            _ = AzuriteFixture.Kill(app.Id, 15);
            await app.WaitForExitAsync();
        }
    }

    private Process StartApp()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AgentSpend.Functions.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{AzuriteFixture.FreePort()}");
        start.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        start.Environment["AGENTSPEND_ADMIN_KEY"] = TestApp.AdminKey;
        start.Environment["AGENTSPEND_SECRET_KEY"] = TestApp.SecretKey;
        start.Environment["AGENTSPEND_QUEUE_LEASE_SECONDS"] = "3";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
