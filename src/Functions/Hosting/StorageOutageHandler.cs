using AgentSpend.Core.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// Storage that cannot be reached or cannot serve (<see cref="StorageFaults.IsUnavailable"/>) answers 503
/// <c>storage_unavailable</c> with Retry-After, from every endpoint and from the key authentication: one place,
/// so no endpoint answers 500 for an outage, and no key is called invalid because its lookup failed (the lookup
/// throws, and what throws in authentication ends here too). Other exceptions are left to the default 500.
/// </summary>
internal sealed partial class StorageOutageHandler(ILogger<StorageOutageHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!StorageFaults.IsUnavailable(exception))
        {
            return false;
        }

        LogUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.GetBaseException().Message);
        var problem = RetryLater.ServiceUnavailable(Problems.StorageUnavailable,
            "Storage cannot be reached just now: send the request again after Retry-After. Usage answered so is not charged to the plan, and is counted once when sent again.",
            StorageFaults.RetryAfter);
        await problem.ExecuteAsync(httpContext).ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: storage is unavailable ({Error})")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string error);
}
