using System.Diagnostics;
using AgentSpend.Core;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Recovery;

/// <summary>The app is SIGKILLed while it aggregates a 20,000-event backlog, then restarted: every event is counted once.</summary>
public sealed class CrashRecoveryTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const int Events = 20_000;
    private static readonly Workspace Utc = new(Workspace.DefaultId, TimeZoneInfo.Utc);

    [Fact]
    public async Task Totals_are_exact_after_a_SIGKILL_mid_aggregation_and_a_restart()
    {
        var days = new[] { DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2), DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) };
        await azurite.Storage.EnsureStorageAsync(CancellationToken.None);
        var queue = azurite.Storage.GetQueue(StorageNames.IngestQueue);
        foreach (var batch in Enumerable.Range(0, Events).Select(i => EventFactory.Queued(i, days[i % 2], "s:crash-")).Chunk(1000))
        {
            foreach (var text in IngestMessageCodec.Pack(batch))
            {
                await queue.SendAsync(text);
            }
        }

        var metrics = new MetricsService(azurite.Storage, new DayVersions(azurite.Storage, TimeProvider.System), TimeProvider.System);
        var range = new MetricsRange(days[0], days[1]);
        async Task<long> CountedAsync() => (await metrics.OverviewAsync(Utc, range, MetricsFilter.None, CancellationToken.None)).Events;

        long countedAtKill;
        using (var first = StartApp())
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((countedAtKill = await CountedAsync()) == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            first.Kill(); // SIGKILL: no graceful shutdown, messages stay leased, transactions may be in flight
            await first.WaitForExitAsync();
        }

        Assert.InRange(countedAtKill, 1, Events - 1); // the kill really landed mid-backlog

        using var second = StartApp();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while ((await CountedAsync() < Events || await queue.GetApproximateCountAsync() > 0) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }

            var overview = await metrics.OverviewAsync(Utc, range, MetricsFilter.None, CancellationToken.None);
            var expected = EventFactory.Expected(Enumerable.Range(0, Events));
            Assert.Equal(expected, (overview.Events, overview.InputTokens, overview.OutputTokens, overview.CostUsd, overview.UnpricedEvents));
            Assert.Equal(0, await queue.GetApproximateCountAsync());
            Assert.Equal(0, await azurite.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
        }
        finally
        {
            _ = AzuriteFixture.Kill(second.Id, 15);
            await second.WaitForExitAsync();
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
