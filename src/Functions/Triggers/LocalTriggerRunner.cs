using AgentSpend.Core.Configuration;
using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting.Local;
using Cronos;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Triggers;

/// <summary>
/// Local mode (no Functions host): runs the queue and timer triggers of the generated metadata (their queues and
/// schedules, as the host reads them) by invoking their <c>[Function]</c> methods (<see cref="TriggerFunctions"/>),
/// a message per invocation, with host.json's queue settings.
/// </summary>
internal sealed partial class LocalTriggerRunner(
    FunctionManifest manifest,
    FunctionCatalog catalog,
    LocalFunctionInvoker invoker,
    IStorageProvider storage,
    PoisonedMessageAlerts poisonAlerts,
    IOptions<AgentSpendOptions> options,
    TimeProvider clock,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<LocalTriggerRunner>();

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = new List<Task>();
        foreach (var function in catalog.Functions)
        {
            switch (function.Trigger)
            {
                case "queueTrigger":
                    var queueFunction = new LocalQueueFunction(function, invoker);
                    var queueName = function.Queue ?? throw new InvalidDataException($"{function.Name}: queueTrigger without queueName.");
                    var listener = new QueueTriggerListener(
                        queueFunction,
                        storage.GetQueue(queueName),
                        storage.GetQueue(StorageNames.PoisonQueueOf(queueName)),
                        manifest.Queues,
                        TimeSpan.FromSeconds(options.Value.QueueLeaseSeconds),
                        loggerFactory.CreateLogger($"AgentSpend.Functions.{function.Name}"),
                        poisonAlerts);
                    loops.Add(Task.Run(() => listener.RunAsync(stoppingToken), stoppingToken));
                    break;
                case "timerTrigger":
                    var schedule = function.Schedule ?? throw new InvalidDataException($"{function.Name}: timerTrigger without schedule.");
                    loops.Add(Task.Run(() => RunTimerAsync(function, schedule, stoppingToken), stoppingToken));
                    break;
            }
        }

        return Task.WhenAll(loops);
    }

    private async Task RunTimerAsync(FunctionEntry function, string cron, CancellationToken stoppingToken)
    {
        var schedule = CronExpression.Parse(cron, CronFormat.IncludeSeconds);
        LogTimerScheduled(_logger, function.Name, cron);

        DateTime? last = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            var next = schedule.GetNextOccurrence(now.UtcDateTime, TimeZoneInfo.Utc);
            if (next is null)
            {
                return;
            }

            try
            {
                await Task.Delay(next.Value - now.UtcDateTime, clock, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var after = schedule.GetNextOccurrence(next.Value, TimeZoneInfo.Utc);
            var timer = new TimerInfo
            {
                IsPastDue = false,
                ScheduleStatus = new ScheduleStatus { Last = last ?? default, Next = after ?? default, LastUpdated = clock.GetUtcNow().UtcDateTime },
            };
            await InvokeTimerAsync(function, timer, stoppingToken).ConfigureAwait(false);
            last = next.Value;
        }
    }

    /// <summary>Runs a timer function; one that failed because storage was unavailable runs again once storage answers.</summary>
    private async Task InvokeTimerAsync(FunctionEntry function, TimerInfo timer, CancellationToken stoppingToken)
    {
        LogTimerFired(_logger, function.Name);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await invoker.InvokeAsync(function, timer, stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && StorageFaults.IsUnavailable(ex) && attempt < MaxTimerAttemptsThroughOutages)
            {
                LogTimerWaitsForStorage(_logger, ex, function.Name);
                await WaitForStorageAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogTimerFailed(_logger, ex, function.Name);
                return;
            }
        }
    }

    private async Task WaitForStorageAsync(CancellationToken stoppingToken)
    {
        var pause = TimeSpan.FromMilliseconds(500);
        while (true)
        {
            await Task.Delay(pause, clock, stoppingToken).ConfigureAwait(false);
            try
            {
                await storage.GetQueue(StorageNames.IngestQueue).GetApproximateCountAsync(stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (StorageFaults.IsUnavailable(ex) && !stoppingToken.IsCancellationRequested)
            {
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Timer function {Function} scheduled: {Schedule} (UTC)")]
    private static partial void LogTimerScheduled(ILogger logger, string function, string schedule);

    private const int MaxTimerAttemptsThroughOutages = 10;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer function {Function} found storage unavailable; it runs again once storage answers")]
    private static partial void LogTimerWaitsForStorage(ILogger logger, Exception exception, string function);

    [LoggerMessage(Level = LogLevel.Information, Message = "Timer function {Function} fired")]
    private static partial void LogTimerFired(ILogger logger, string function);

    [LoggerMessage(Level = LogLevel.Error, Message = "Timer function {Function} failed; it runs again at its next occurrence")]
    private static partial void LogTimerFailed(ILogger logger, Exception exception, string function);
}
