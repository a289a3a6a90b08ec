using System.Reflection;

namespace AgentSpend.Functions.Hosting.Local;

/// <summary>
/// Local mode's stand-in for the worker's generated executor, for queue and timer functions: calls the
/// <c>[Function]</c> method itself, its class created from the app's services for each invocation (as the worker's
/// activator does), its trigger value and cancellation token bound by type. A failure is thrown as the function threw
/// it, as the host would see it.
/// </summary>
public sealed class LocalFunctionInvoker(IServiceProvider services)
{
    public async Task InvokeAsync(FunctionEntry function, object trigger, CancellationToken cancellationToken)
    {
        var arguments = function.Method.GetParameters().Select(p => Bind(function, p, trigger, cancellationToken)).ToArray();
        await using var scope = services.CreateAsyncScope();
        await InvokeMethodAsync(function.Method, scope.ServiceProvider, arguments).ConfigureAwait(false);
    }

    /// <summary>
    /// Calls a function method as the worker does: its class created from <paramref name="services"/> for this call and
    /// disposed after it, an exception thrown as the method threw it. Returns what it returned, awaited.
    /// </summary>
    internal static async Task<object?> InvokeMethodAsync(MethodInfo method, IServiceProvider services, object?[] arguments)
    {
        var instance = method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, method.DeclaringType!);
        try
        {
            switch (method.Invoke(instance, BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null))
            {
                case Task task:
                    await task.ConfigureAwait(false);
                    return task.GetType().IsGenericType ? task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task) : null;
                case ValueTask valueTask:
                    await valueTask.ConfigureAwait(false);
                    return null;
                case var returned:
                    return returned;
            }
        }
        finally
        {
            (instance as IDisposable)?.Dispose();
        }
    }

    private static object Bind(FunctionEntry function, ParameterInfo parameter, object trigger, CancellationToken cancellationToken) =>
        parameter.ParameterType == typeof(CancellationToken) ? cancellationToken
        : parameter.ParameterType.IsInstanceOfType(trigger) ? trigger
        : throw new InvalidOperationException(
            $"{function.Name}: local mode binds a {function.Trigger}'s value and a CancellationToken, not {parameter.ParameterType.Name} {parameter.Name}.");
}
