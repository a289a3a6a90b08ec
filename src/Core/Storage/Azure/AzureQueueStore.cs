using Azure.Storage.Queues;

namespace AgentSpend.Core.Storage.Azure;

internal sealed class AzureQueueStore(QueueClient client) : IQueueStore
{
    public string Name => client.Name;

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) =>
        await client.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

    public async Task<string> SendAsync(string text, TimeSpan? initialInvisibility = null, CancellationToken cancellationToken = default)
    {
        var receipt = await client.SendMessageAsync(text, initialInvisibility, timeToLive: TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        return receipt.Value.MessageId;
    }

    public async Task<IReadOnlyList<LeasedMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, 32);
        var response = await client.ReceiveMessagesAsync(maxMessages, visibilityTimeout, cancellationToken).ConfigureAwait(false);
        return response.Value
            .Select(m => new LeasedMessage(m.MessageId, m.PopReceipt, m.Body.ToString(), m.DequeueCount, m.InsertedOn))
            .ToArray();
    }

    public async Task<string> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        var response = await client.UpdateMessageAsync(messageId, popReceipt, visibilityTimeout: visibilityTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Value.PopReceipt;
    }

    public async Task DeleteAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default) =>
        await client.DeleteMessageAsync(messageId, popReceipt, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken = default)
    {
        var response = await client.PeekMessagesAsync(maxMessages, cancellationToken).ConfigureAwait(false);
        return response.Value.Select(m => new PeekedMessage(m.MessageId, m.Body.ToString(), m.DequeueCount, m.InsertedOn)).ToArray();
    }

    public async Task<int> GetApproximateCountAsync(CancellationToken cancellationToken = default)
    {
        var properties = await client.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        return properties.Value.ApproximateMessagesCount;
    }
}
