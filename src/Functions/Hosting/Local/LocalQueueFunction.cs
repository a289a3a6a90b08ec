using AgentSpend.Functions.Triggers;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace AgentSpend.Functions.Hosting.Local;

/// <summary>A queue <c>[Function]</c> as local mode's listener runs it: each message an invocation of the method, as the Functions host runs it.</summary>
internal sealed class LocalQueueFunction(FunctionEntry function, LocalFunctionInvoker invoker) : IQueueFunction
{
    public string Name => function.Name;

    public async Task<Exception?> RunAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        var message = QueuesModelFactory.QueueMessage(invocation.MessageId ?? "", popReceipt: "", BinaryData.FromString(invocation.Text), invocation.DequeueCount);
        try
        {
            await invoker.InvokeAsync(function, message, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (QueueFunctionFailedException ex) when (ex.InnerException is not null)
        {
            // The function's own error: the listener tells a storage outage (rerun, no try used up) from a bad message by it.
            return ex.InnerException;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return ex;
        }
    }
}
