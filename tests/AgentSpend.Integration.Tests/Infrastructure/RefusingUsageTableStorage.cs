using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>Storage whose usage table refuses every transaction with a 400: an ingest message that fails on every try, whatever it holds.</summary>
internal sealed class RefusingUsageTableStorage(IStorageProvider inner) : IStorageProvider
{
    public ITableStore GetTable(string name) => name == StorageNames.UsageTable ? new RefusingTable(inner.GetTable(name)) : inner.GetTable(name);

    public IQueueStore GetQueue(string name) => inner.GetQueue(name);

    private sealed class RefusingTable(ITableStore inner) : ITableStore
    {
        public string Name => inner.Name;

        public Task<IReadOnlyList<ETag>> SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken = default) =>
            throw new RequestFailedException(400, "The test's usage table refuses every transaction.", "InvalidInput", null);

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => inner.CreateIfNotExistsAsync(cancellationToken);

        public Task<ETag> InsertAsync(ITableEntity entity, CancellationToken cancellationToken = default) => inner.InsertAsync(entity, cancellationToken);

        public Task<ETag> UpsertAsync(ITableEntity entity, TableUpdateMode mode, CancellationToken cancellationToken = default) => inner.UpsertAsync(entity, mode, cancellationToken);

        public Task<ETag> UpdateAsync(ITableEntity entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken = default) =>
            inner.UpdateAsync(entity, ifMatch, mode, cancellationToken);

        public Task DeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default) =>
            inner.DeleteAsync(partitionKey, rowKey, ifMatch, cancellationToken);

        public Task<bool> TryDeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default) =>
            inner.TryDeleteAsync(partitionKey, rowKey, ifMatch, cancellationToken);

        public Task<TableEntity?> GetIfExistsAsync(string partitionKey, string rowKey, IEnumerable<string>? properties = null, CancellationToken cancellationToken = default) =>
            inner.GetIfExistsAsync(partitionKey, rowKey, properties, cancellationToken);

        public IAsyncEnumerable<TableEntity> QueryAsync(string? filter, IEnumerable<string>? properties = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
            inner.QueryAsync(filter, properties, pageSize, cancellationToken);

        public Task<TablePage> QueryPageAsync(string filter, int pageSize, string? continuation, CancellationToken cancellationToken = default) =>
            inner.QueryPageAsync(filter, pageSize, continuation, cancellationToken);
    }
}
