using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Storage;

/// <summary>
/// Port for one Azure table: the operations AgentSpend relies on, nothing more.
/// Failures surface as <see cref="RequestFailedException"/> (status and error code);
/// a failed entity-group transaction as <see cref="TableTransactionFailedException"/>,
/// whose <c>FailedTransactionActionIndex</c> names the operation that failed.
/// </summary>
public interface ITableStore
{
    string Name { get; }

    Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts a new entity; 409 <c>EntityAlreadyExists</c> when it exists. Returns the new ETag.</summary>
    Task<ETag> InsertAsync(ITableEntity entity, CancellationToken cancellationToken = default);

    /// <summary>Insert-or-replace, or insert-or-merge; unconditional. Returns the new ETag.</summary>
    Task<ETag> UpsertAsync(ITableEntity entity, TableUpdateMode mode, CancellationToken cancellationToken = default);

    /// <summary>Replaces or merges only when the stored ETag matches; 412 otherwise. Returns the new ETag.</summary>
    Task<ETag> UpdateAsync(ITableEntity entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken = default);

    /// <summary>Deletes when the ETag matches (<see cref="ETag.All"/>: unconditionally). A missing entity is not an error.</summary>
    Task DeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default);

    /// <summary>Deletes when the entity exists and the ETag matches; false when it was gone or changed: of two racing deleters, one gets true.</summary>
    Task<bool> TryDeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default);

    /// <summary>Point read; null on 404.</summary>
    Task<TableEntity?> GetIfExistsAsync(string partitionKey, string rowKey, IEnumerable<string>? properties = null, CancellationToken cancellationToken = default);

    /// <summary>OData-filtered query that follows continuation tokens until the end.</summary>
    IAsyncEnumerable<TableEntity> QueryAsync(string? filter, IEnumerable<string>? properties = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of an OData-filtered query: at most <paramref name="pageSize"/> rows (possibly fewer, even none,
    /// with more to come) and the service's continuation token for the next page, null at the end.
    /// </summary>
    Task<TablePage> QueryPageAsync(string filter, int pageSize, string? continuation, CancellationToken cancellationToken = default);

    /// <summary>
    /// Entity-group transaction (one partition, at most 100 operations). All or nothing.
    /// Returns the ETag each operation produced, in order (empty for deletes).
    /// </summary>
    Task<IReadOnlyList<ETag>> SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken = default);
}

/// <summary>One page of a query and where the next one starts (null: none).</summary>
public sealed record TablePage(IReadOnlyList<TableEntity> Items, string? Continuation);
