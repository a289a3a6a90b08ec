using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Triggers;

/// <summary>
/// The queue and timer functions, defined once: the Functions host invokes these (a queue message per invocation, the
/// schedules in UTC), and local mode reads their queues and schedules from the same generated metadata
/// (<see cref="LocalTriggerRunner"/>). Each runs the same function code (<see cref="IQueueFunction"/>, <see cref="ITimerFunction"/>).
/// </summary>
public sealed class TriggerFunctions(
    IEnumerable<IQueueFunction> queueFunctions, IEnumerable<ITimerFunction> timerFunctions, PoisonedMessageAlerts poisonAlerts, FunctionManifest host)
{
    [Function("AggregateUsage")]
    public Task AggregateUsageAsync([QueueTrigger(StorageNames.IngestQueue, Connection = "AzureWebJobsStorage")] QueueMessage message, CancellationToken cancellationToken) =>
        RunQueueAsync("AggregateUsage", StorageNames.IngestQueue, message, cancellationToken);

    [Function("DeliverAlerts")]
    public Task DeliverAlertsAsync([QueueTrigger(StorageNames.AlertsQueue, Connection = "AzureWebJobsStorage")] QueueMessage message, CancellationToken cancellationToken) =>
        RunQueueAsync("DeliverAlerts", StorageNames.AlertsQueue, message, cancellationToken);

    [Function("Retention")]
    public Task RetentionAsync([TimerTrigger("0 30 3 * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        RunTimerAsync("Retention", cancellationToken);

    [Function("PurgeWorkspaces")]
    public Task PurgeWorkspacesAsync([TimerTrigger("0 */5 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        RunTimerAsync("PurgeWorkspaces", cancellationToken);

    [Function("RunCompletion")]
    public Task RunCompletionAsync([TimerTrigger("0 * * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        RunTimerAsync("RunCompletion", cancellationToken);

    [Function("BudgetPeriods")]
    public Task BudgetPeriodsAsync([TimerTrigger("0 */5 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        RunTimerAsync("BudgetPeriods", cancellationToken);

    /// <summary>
    /// One message: done, or its error thrown so that the host retries it. After its last try the host moves it to the
    /// poison queue itself; the app hears of that only here, and raises the poisoned-message alert.
    /// </summary>
    private async Task RunQueueAsync(string name, string queue, QueueMessage message, CancellationToken cancellationToken)
    {
        var text = message.Body.ToString();
        var error = await queueFunctions.Single(f => f.Name == name)
            .RunAsync(new QueueInvocation(text, message.DequeueCount, message.MessageId), cancellationToken).ConfigureAwait(false);
        if (error is null)
        {
            return;
        }

        if (message.DequeueCount >= host.Queues.MaxDequeueCount)
        {
            await poisonAlerts.RaiseForAsync(queue, text, cancellationToken).ConfigureAwait(false);
        }

        throw new QueueFunctionFailedException(name, message.MessageId, message.DequeueCount, error);
    }

    private Task RunTimerAsync(string name, CancellationToken cancellationToken) =>
        timerFunctions.Single(f => f.Name == name).RunAsync(cancellationToken);
}
