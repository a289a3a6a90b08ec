using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Storage.Azure;

internal sealed class AzureTableStore(TableClient client) : ITableStore
{
    public string Name => client.Name;

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) =>
        await client.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

    public async Task<ETag> InsertAsync(ITableEntity entity, CancellationToken cancellationToken = default)
    {
        var response = await client.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    public async Task<ETag> UpsertAsync(ITableEntity entity, TableUpdateMode mode, CancellationToken cancellationToken = default)
    {
        var response = await client.UpsertEntityAsync(entity, mode, cancellationToken).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    public async Task<ETag> UpdateAsync(ITableEntity entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken = default)
    {
        var response = await client.UpdateEntityAsync(entity, ifMatch, mode, cancellationToken).ConfigureAwait(false);
        return response.Headers.ETag ?? default;
    }

    public async Task DeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default) =>
        await client.DeleteEntityAsync(partitionKey, rowKey, ifMatch, cancellationToken).ConfigureAwait(false);

    public async Task<bool> TryDeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await client.DeleteEntityAsync(partitionKey, rowKey, ifMatch, cancellationToken).ConfigureAwait(false);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
    }

    public async Task<TableEntity?> GetIfExistsAsync(string partitionKey, string rowKey, IEnumerable<string>? properties = null, CancellationToken cancellationToken = default)
    {
        var response = await client.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, properties, cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    public async IAsyncEnumerable<TableEntity> QueryAsync(string? filter, IEnumerable<string>? properties = null, int? pageSize = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entity in client.QueryAsync<TableEntity>(filter, pageSize, properties, cancellationToken).ConfigureAwait(false))
        {
            yield return entity;
        }
    }

    public async Task<TablePage> QueryPageAsync(string filter, int pageSize, string? continuation, CancellationToken cancellationToken = default)
    {
        await foreach (var page in client.QueryAsync<TableEntity>(filter, pageSize, cancellationToken: cancellationToken).AsPages(continuation, pageSize).ConfigureAwait(false))
        {
            return new TablePage(page.Values, page.ContinuationToken);
        }

        return new TablePage([], null);
    }

    public async Task<IReadOnlyList<ETag>> SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken = default)
    {
        var response = await client.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        return response.Value.Select(r => r.Headers.ETag ?? default).ToArray();
    }
}
