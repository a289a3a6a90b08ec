namespace AgentSpend.Core.Storage;

/// <summary>Hands out tables and queues of one storage account.</summary>
public interface IStorageProvider
{
    ITableStore GetTable(string name);

    IQueueStore GetQueue(string name);
}
