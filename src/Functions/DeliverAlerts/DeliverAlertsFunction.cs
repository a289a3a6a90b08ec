using AgentSpend.Core.Alerts;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.DeliverAlerts;

/// <summary>
/// Queue trigger on <c>alerts</c>: one delivery attempt per message. Retries are new messages that the deliverer
/// queues with a backoff, so a message fails here only when storage does (or it is not an alert message), and
/// the queue's own retries, then its poison queue, cover that.
/// </summary>
internal sealed class DeliverAlertsFunction(AlertDeliverer deliverer) : IQueueFunction
{
    public string Name => "DeliverAlerts";

    public async Task<Exception?> RunAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        try
        {
            await deliverer.DeliverAsync(AlertMessage.Parse(invocation.Text), cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ex; // the trigger logs it with the message's id and try count
        }
    }
}
