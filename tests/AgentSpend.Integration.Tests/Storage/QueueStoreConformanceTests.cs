using Azure;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Storage;

/// <summary>
/// The queue port's contract, checked against a real Azurite: leases, pop receipts, dequeue counts
/// and the size limit that the ingest codec splits batches for.
/// </summary>
public sealed class QueueStoreConformanceTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private async Task<IQueueStore> NewQueueAsync()
    {
        var queue = azurite.Storage.GetQueue("conf-" + Guid.NewGuid().ToString("N")[..12]);
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    [Fact]
    public async Task Create_is_idempotent_and_a_new_queue_is_empty()
    {
        var queue = await NewQueueAsync();

        await queue.CreateIfNotExistsAsync();

        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.Empty(await queue.PeekAsync(32));
        Assert.Empty(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Sent_text_round_trips_exactly_including_xml_characters_and_60k_characters()
    {
        var queue = await NewQueueAsync();
        var tricky = "<events a=\"1\" b='2'>&amp; ünïcødé ✓ \r\n\t]]></events>";
        var large = string.Concat(Enumerable.Range(0, 6_000).Select(i => $"{i % 10}abcdefghi"));

        var trickyId = await queue.SendAsync(tricky);
        var largeId = await queue.SendAsync(large);

        var peeked = await queue.PeekAsync(32);
        Assert.Equal(60_000, large.Length);
        Assert.Equal(new[] { (trickyId, tricky, 0L), (largeId, large, 0L) },
            peeked.Select(m => (m.MessageId, m.Text, m.DequeueCount)).ToArray());
        Assert.Equal(2, await queue.GetApproximateCountAsync());
    }

    [Fact]
    public async Task Receive_takes_at_most_32_and_leased_messages_are_hidden_from_others()
    {
        var queue = await NewQueueAsync();
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => queue.SendAsync($"m{i}")));

        var first = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));
        var second = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));
        var third = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));

        Assert.Equal((32, 8, 0), (first.Count, second.Count, third.Count));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"m{i}").Order(), first.Concat(second).Select(m => m.Text).Order());
        Assert.All(first.Concat(second), m => Assert.Equal(1, m.DequeueCount));
        Assert.Equal(40, await queue.GetApproximateCountAsync()); // leased messages still count until deleted
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(33, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task An_expired_lease_makes_the_message_visible_again_with_a_higher_dequeue_count()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("again");

        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
        await Task.Delay(TimeSpan.FromSeconds(1.6));
        var second = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
        await Task.Delay(TimeSpan.FromSeconds(1.6));
        var peeked = Assert.Single(await queue.PeekAsync(1));

        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal((1L, 2L, 2L), (first.DequeueCount, second.DequeueCount, peeked.DequeueCount));
        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteAsync(first.MessageId, first.PopReceipt));
        Assert.Equal((400, "PopReceiptMismatch"), (stale.Status, stale.ErrorCode)); // the first lease can no longer settle it
    }

    [Fact]
    public async Task Update_visibility_returns_a_new_pop_receipt_and_the_old_one_stops_working()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("leased");
        var leased = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));

        var renewed = await queue.UpdateVisibilityAsync(leased.MessageId, leased.PopReceipt, TimeSpan.FromSeconds(30));
        var old = await Assert.ThrowsAsync<RequestFailedException>(
            () => queue.UpdateVisibilityAsync(leased.MessageId, leased.PopReceipt, TimeSpan.FromSeconds(30)));

        Assert.NotEqual(leased.PopReceipt, renewed);
        Assert.Equal((400, "PopReceiptMismatch"), (old.Status, old.ErrorCode));
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));

        var released = await queue.UpdateVisibilityAsync(leased.MessageId, renewed, TimeSpan.Zero);
        var again = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));
        Assert.NotEqual(renewed, released);
        Assert.Equal((leased.MessageId, 2L), (again.MessageId, again.DequeueCount));
    }

    [Fact]
    public async Task Delete_with_the_current_pop_receipt_removes_the_message()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("one");
        await queue.SendAsync("two");
        var taken = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));

        await queue.DeleteAsync(taken[0].MessageId, taken[0].PopReceipt);

        Assert.Equal(1, await queue.GetApproximateCountAsync());
        var missing = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteAsync(taken[0].MessageId, taken[0].PopReceipt));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Initial_invisibility_delays_a_message()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("later", TimeSpan.FromSeconds(1));

        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));
        await Task.Delay(TimeSpan.FromSeconds(1.6));
        Assert.Equal("later", Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30))).Text);
    }

    [Fact]
    public async Task A_message_over_64_KiB_is_refused_with_413()
    {
        var queue = await NewQueueAsync();

        var tooLarge = await Assert.ThrowsAsync<RequestFailedException>(() => queue.SendAsync(new string('x', IQueueStore.MaxMessageBytes + 1)));

        Assert.Equal(413, tooLarge.Status);
        Assert.Equal(0, await queue.GetApproximateCountAsync());
    }
}
