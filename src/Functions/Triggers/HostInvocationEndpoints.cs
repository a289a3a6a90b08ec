using System.Text.Json;
using System.Text.Json.Serialization;
using AgentSpend.Core.Poison;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Triggers;

/// <summary>The Functions host's invocation request to a custom handler.</summary>
public sealed record InvocationRequest(
    [property: JsonPropertyName("Data")] Dictionary<string, JsonElement>? Data,
    [property: JsonPropertyName("Metadata")] Dictionary<string, JsonElement>? Metadata);

/// <summary>The custom handler's answer: non-2xx tells the host the invocation failed (and to retry a queue message).</summary>
public sealed record InvocationResponse(
    [property: JsonPropertyName("Outputs")] Dictionary<string, object?> Outputs,
    [property: JsonPropertyName("Logs")] IReadOnlyList<string> Logs,
    [property: JsonPropertyName("ReturnValue")] object? ReturnValue);

/// <summary>
/// Under the Functions host, queue and timer invocations arrive as <c>POST /{FunctionName}</c>. Mapped only
/// in host mode: standalone, the local trigger runner calls the functions in-process, and no one else may.
/// </summary>
internal static class HostInvocationEndpoints
{
    public static void MapHostInvocations(this IEndpointRouteBuilder app, FunctionManifest manifest)
    {
        foreach (var function in manifest.Functions)
        {
            var trigger = function.Trigger;
            switch (trigger.Type)
            {
                case "queueTrigger":
                    var poisonPoint = new PoisonPoint(trigger.QueueName ?? throw new InvalidDataException($"{function.Name}: queueTrigger without queueName."), manifest.Queues.MaxDequeueCount);
                    app.MapPost("/" + function.Name, (InvocationRequest request, IEnumerable<IQueueFunction> functions, PoisonedMessageAlerts poisonAlerts, CancellationToken ct) =>
                        InvokeQueueAsync(functions.Single(f => f.Name == function.Name), trigger.Name, request, poisonPoint, poisonAlerts, ct))
                        .AllowAnonymous() // the host calls on the loopback port it chose, without a key; it forwards no outside request here
                        .ExcludeFromDescription();
                    break;
                case "timerTrigger":
                    app.MapPost("/" + function.Name, (InvocationRequest request, IEnumerable<ITimerFunction> functions, CancellationToken ct) =>
                        InvokeTimerAsync(functions.Single(f => f.Name == function.Name), ct))
                        .AllowAnonymous()
                        .ExcludeFromDescription();
                    break;
            }
        }
    }

    /// <summary>The queue a function is triggered by, and after how many failed tries the host moves a message to its poison queue.</summary>
    public sealed record PoisonPoint(string Queue, int MaxDequeueCount);

    public static async Task<Results<Ok<InvocationResponse>, JsonHttpResult<InvocationResponse>>> InvokeQueueAsync(
        IQueueFunction function, string bindingName, InvocationRequest request, PoisonPoint poisonPoint, PoisonedMessageAlerts poisonAlerts, CancellationToken cancellationToken)
    {
        if (Find(request.Data, bindingName) is not { } payload)
        {
            return Failed($"The invocation carries no '{bindingName}' in Data.");
        }

        // The host passes the message text as a JSON string (or, for JSON text, sometimes as the value itself).
        var text = payload.ValueKind == JsonValueKind.String ? payload.GetString()! : payload.GetRawText();
        var dequeueCount = Find(request.Metadata, "DequeueCount") is { } dc
            ? dc.ValueKind == JsonValueKind.Number ? dc.GetInt64() : long.TryParse(dc.GetString(), out var parsed) ? parsed : 1
            : 1;
        var messageId = Find(request.Metadata, "Id")?.ToString();
        var results = await function.RunAsync([new QueueInvocation(text, dequeueCount, messageId)], cancellationToken).ConfigureAwait(false);
        if (results[0] is not { } error)
        {
            return TypedResults.Ok(new InvocationResponse([], [$"{function.Name} handled message {messageId}"], null));
        }

        // The host moves the message to the poison queue itself, after this last try; the app hears of it only here.
        if (dequeueCount >= poisonPoint.MaxDequeueCount)
        {
            await poisonAlerts.RaiseForAsync(poisonPoint.Queue, text, cancellationToken).ConfigureAwait(false);
        }

        return Failed($"{function.Name} failed: {error.Message}");
    }

    public static async Task<Results<Ok<InvocationResponse>, JsonHttpResult<InvocationResponse>>> InvokeTimerAsync(ITimerFunction function, CancellationToken cancellationToken)
    {
        try
        {
            await function.RunAsync(cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(new InvocationResponse([], [$"{function.Name} ran"], null));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Failed($"{function.Name} failed: {ex.Message}");
        }
    }

    private static JsonElement? Find(Dictionary<string, JsonElement>? values, string name) =>
        values?.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)) is { Key: not null } found ? found.Value : null;

    private static JsonHttpResult<InvocationResponse> Failed(string log) =>
        TypedResults.Json(new InvocationResponse([], [log], null), statusCode: StatusCodes.Status500InternalServerError);
}
