using System.Text.Json;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Poison;

internal static class PoisonTesting
{
    /// <summary>
    /// A <c>usage-ingest</c> message of <paramref name="events"/> events of the workspace whose rows cannot be written:
    /// each event names an agent of 4,500,000 characters, so that its event page alone is past the 4 MiB a transaction
    /// carries (a page spreads an event over properties of 30,000 characters, so the 32K-character property limit no
    /// longer refuses one). The ingest validator never queues such an event; the aggregator isolates each one and moves
    /// it to the poison queue, counting the rest of the message.
    /// </summary>
    public static string UnwritableMessage(string workspaceId, int events, DateOnly day, string idPrefix) =>
        Assert.Single(IngestMessageCodec.Pack([.. Enumerable.Range(0, events).Select(i => EventFactory.Queued(i, day, idPrefix) with
        {
            WorkspaceId = workspaceId,
            Agent = new string('x', 4_500_000),
        })]));

    /// <summary>A <c>usage-ingest</c> message of <paramref name="events"/> ordinary events of the workspace.</summary>
    public static string Message(string workspaceId, int events, DateOnly day, string idPrefix) =>
        Assert.Single(IngestMessageCodec.Pack([.. Enumerable.Range(0, events).Select(i => EventFactory.Queued(i, day, idPrefix) with { WorkspaceId = workspaceId })]));

    /// <summary>Waits until the queue holds <paramref name="count"/> messages (or the timeout passes); returns the last count.</summary>
    public static async Task<int> WaitForCountAsync(IQueueStore queue, int count, int timeoutSeconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        int current;
        while ((current = await queue.GetApproximateCountAsync()) != count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        return current;
    }

    /// <summary>The workspace's alerts of one kind, newest first, as GET /api/v1/alerts shows them.</summary>
    public static async Task<JsonElement[]> AlertsAsync(TestApp app, string key, string kind)
    {
        var reply = await app.SendAsync("GET", $"/api/v1/alerts?kind={kind}", key: key);
        Assert.True(reply.Status == 200, reply.Text);
        return [.. reply.Body!.Value.GetProperty("items").EnumerateArray()];
    }
}
