using System.Collections.Concurrent;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;

namespace AgentSpend.Core.Storage.Azure;

/// <summary>
/// Builds the Azure SDK clients once per account, with the app's retry and timeout policy and the
/// request counter in their pipelines.
/// </summary>
public sealed class AzureStorageProvider : IStorageProvider
{
    // Azurite 3.37 rejects newer service versions; this one is served by both Azurite and Azure.
    private const QueueClientOptions.ServiceVersion QueueServiceVersion = QueueClientOptions.ServiceVersion.V2025_11_05;

    private readonly TableServiceClient _tables;
    private readonly QueueServiceClient _queues;
    private readonly ConcurrentDictionary<string, ITableStore> _tableStores = new();
    private readonly ConcurrentDictionary<string, IQueueStore> _queueStores = new();

    public AzureStorageProvider(StorageConnectionSettings settings, StorageRequestCounter counter)
    {
        var tableOptions = new TableClientOptions();
        var queueOptions = new QueueClientOptions(QueueServiceVersion);
        foreach (var options in new ClientOptions[] { tableOptions, queueOptions })
        {
            options.Retry.MaxRetries = 4;
            options.Retry.Mode = RetryMode.Exponential;
            options.Retry.Delay = TimeSpan.FromMilliseconds(200);
            options.Retry.MaxDelay = TimeSpan.FromSeconds(5);
            options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
            options.AddPolicy(counter, HttpPipelinePosition.PerRetry);
        }

        if (settings.UsesConnectionString)
        {
            _tables = new TableServiceClient(settings.ConnectionString, tableOptions);
            _queues = new QueueServiceClient(settings.ConnectionString, queueOptions);
        }
        else
        {
            var credential = settings.CreateCredential();
            _tables = new TableServiceClient(settings.TableServiceUri, credential, tableOptions);
            _queues = new QueueServiceClient(settings.QueueServiceUri, credential, queueOptions);
        }
    }

    public ITableStore GetTable(string name) =>
        _tableStores.GetOrAdd(name, n => new AzureTableStore(_tables.GetTableClient(n)));

    public IQueueStore GetQueue(string name) =>
        _queueStores.GetOrAdd(name, n => new AzureQueueStore(_queues.GetQueueClient(n)));
}
