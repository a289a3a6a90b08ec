using AgentSpend.Core.Configuration;
using AgentSpend.Core.Runs;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentSpend.Integration.Tests.Storage;

/// <summary>An instance that never saw a workspace's runs (just started, or another one wrote them) records them all the same.</summary>
public sealed class RunIndexRecordTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_cold_instance_widens_150_runs_another_instance_recorded_in_one_pass()
    {
        await azurite.Storage.GetTable(Core.Storage.StorageNames.RunsTable).CreateIfNotExistsAsync();
        RunIndex NewInstance() => new(azurite.Storage, Options.Create(new AgentSpendOptions()), TimeProvider.System, NullLogger<RunIndex>.Instance);
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var first = Enumerable.Range(0, 3_000).Select(i => EventFactory.QueuedRealistic(i, day, "s:cold-")).ToArray();
        await NewInstance().RecordAsync(first, CancellationToken.None);

        // Each run gets a later event: a second, cold instance must widen every one of them, not give up after a few conflicts.
        var later = first.GroupBy(e => e.RunId).Select(g => g.Last() with { Id = g.Last().Id + "-later", Timestamp = g.Last().Timestamp.AddMinutes(5) }).ToArray();
        Assert.Equal(150, later.Length);
        await NewInstance().RecordAsync(later, CancellationToken.None);

        var runs = await NewInstance().ListAsync("default", RunKind.Run, later.Min(e => e.Timestamp).AddDays(-1), later.Max(e => e.Timestamp).AddDays(1), CancellationToken.None);
        var expected = later.ToDictionary(e => e.RunId!, e => e.Timestamp.ToUnixTimeMilliseconds());
        Assert.Equal(expected.OrderBy(p => p.Key), runs.Where(r => r.Id.StartsWith("s:cold-", StringComparison.Ordinal)).ToDictionary(r => r.Id, r => r.LastAtMs).OrderBy(p => p.Key));
    }
}
