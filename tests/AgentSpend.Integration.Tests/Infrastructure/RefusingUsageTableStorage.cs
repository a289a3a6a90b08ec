using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>Storage whose usage table refuses every transaction with a 400: an ingest message that fails on every try, whatever it holds.</summary>
internal sealed class RefusingUsageTableStorage(IStorageProvider inner) : IStorageProvider
{
    public ITableStore GetTable(string name) => name == StorageNames.UsageTable ? new RefusingTable(inner.GetTable(name)) : inner.GetTable(name);

    public IQueueStore GetQueue(string name) => inner.GetQueue(name);

    private sealed class RefusingTable(ITableStore inner) : DelegatingTableStore(inner)
    {
        public override Task<IReadOnlyList<ETag>> SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken = default) =>
            throw new RequestFailedException(400, "The test's usage table refuses every transaction.", "InvalidInput", null);
    }
}
