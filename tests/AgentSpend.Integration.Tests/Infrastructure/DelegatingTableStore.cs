using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>A table that passes every call to another: a test fault overrides only the call it changes.</summary>
internal class DelegatingTableStore(ITableStore inner) : ITableStore
{
    protected ITableStore Inner => inner;

    public string Name => inner.Name;

    public virtual Task<IReadOnlyList<ETag>> SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken = default) =>
        inner.SubmitTransactionAsync(actions, cancellationToken);

    public virtual Task<ETag> UpdateAsync(ITableEntity entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken = default) =>
        inner.UpdateAsync(entity, ifMatch, mode, cancellationToken);

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => inner.CreateIfNotExistsAsync(cancellationToken);

    public Task<ETag> InsertAsync(ITableEntity entity, CancellationToken cancellationToken = default) => inner.InsertAsync(entity, cancellationToken);

    public Task<ETag> UpsertAsync(ITableEntity entity, TableUpdateMode mode, CancellationToken cancellationToken = default) => inner.UpsertAsync(entity, mode, cancellationToken);

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
