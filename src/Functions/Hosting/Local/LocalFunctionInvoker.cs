using System.Reflection;
using System.Runtime.ExceptionServices;

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
        var method = function.Method;
        var arguments = method.GetParameters().Select(p => Bind(function, p, trigger, cancellationToken)).ToArray();
        await using var scope = services.CreateAsyncScope();
        var instance = method.IsStatic ? null : ActivatorUtilities.CreateInstance(scope.ServiceProvider, method.DeclaringType!);
        try
        {
            if (method.Invoke(instance, arguments) is Task invocation)
            {
                await invocation.ConfigureAwait(false);
            }
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
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
