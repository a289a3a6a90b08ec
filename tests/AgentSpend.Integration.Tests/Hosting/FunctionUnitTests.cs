using System.Text.Json;
using AgentSpend.Core.Alerts;
using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Health;
using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Triggers;
using AgentSpend.Integration.Tests.Infrastructure;
using AgentSpend.Integration.Tests.Poison;
using Azure;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace AgentSpend.Integration.Tests.Hosting;

/// <summary>The function classes on their own, without a host or storage: Moq stands in for the storage port, the workspace directory, the clock and the function code.</summary>
public sealed class FunctionUnitTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 10, 15, 0, TimeSpan.Zero);

    [Fact]
    public async Task Readiness_is_a_503_with_retry_after_while_the_storage_port_cannot_be_reached_and_asks_storage_once_per_freshness_window()
    {
        var queue = new Mock<IQueueStore>();
        queue.Setup(q => q.GetApproximateCountAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new RequestFailedException(503, "Server busy"));
        var storage = new Mock<IStorageProvider>();
        storage.Setup(s => s.GetQueue(It.IsAny<string>())).Returns(queue.Object);
        var clock = Clock();
        var health = new QueueHealth(new PoisonQueues(storage.Object, clock.Object, NullLogger<PoisonQueues>.Instance), clock.Object, NullLogger<QueueHealth>.Instance);

        var first = await ExecuteAsync((await HealthEndpoints.GetReadinessAsync(health, CancellationToken.None)).Result);
        var second = await ExecuteAsync((await HealthEndpoints.GetReadinessAsync(health, CancellationToken.None)).Result);
        var live = await ExecuteAsync(HealthEndpoints.GetLiveness());

        Assert.Equal((503, "5", "degraded", "unreachable"), (first.Status, first.RetryAfter, first.Body.GetProperty("status").GetString(), first.Body.GetProperty("storage").GetString()));
        Assert.Equal(first.Body.GetRawText(), second.Body.GetRawText());
        queue.Verify(q => q.GetApproximateCountAsync(It.IsAny<CancellationToken>()), Times.Exactly(StorageNames.TriggerQueues.Count));
        Assert.Equal((200, "ok"), (live.Status, live.Body.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_queue_function_hands_the_host_its_codes_error_on_every_failed_try_and_looks_for_the_workspace_to_alert_only_on_the_last()
    {
        var error = new RequestFailedException(400, "refused");
        var code = new Mock<IQueueFunction>();
        code.SetupGet(f => f.Name).Returns("AggregateUsage");
        code.Setup(f => f.RunAsync(It.IsAny<QueueInvocation>(), It.IsAny<CancellationToken>())).ReturnsAsync(error);
        var workspaces = new Mock<IWorkspaceDirectory>();
        var functions = Functions(code.Object, workspaces.Object);
        var text = PoisonTesting.Message("ws-unit", 3, DateOnly.FromDateTime(Now.UtcDateTime), "s:unit-");

        for (var dequeueCount = 1; dequeueCount <= 5; dequeueCount++)
        {
            var failed = await Assert.ThrowsAsync<QueueFunctionFailedException>(() =>
                functions.AggregateUsageAsync(QueuesModelFactory.QueueMessage("m-1", "receipt", BinaryData.FromString(text), dequeueCount), CancellationToken.None));

            Assert.Same(error, failed.InnerException);
            workspaces.Verify(w => w.FindAsync("ws-unit", It.IsAny<CancellationToken>()), dequeueCount < 5 ? Times.Never() : Times.Once());
        }

        code.Verify(f => f.RunAsync(It.Is<QueueInvocation>(m => m.Text == text && m.MessageId == "m-1"), It.IsAny<CancellationToken>()), Times.Exactly(5));
    }

    [Fact]
    public async Task A_queue_function_whose_code_succeeds_completes_and_a_timer_function_runs_its_code_once()
    {
        var code = new Mock<IQueueFunction>();
        code.SetupGet(f => f.Name).Returns("DeliverAlerts");
        code.Setup(f => f.RunAsync(It.IsAny<QueueInvocation>(), It.IsAny<CancellationToken>())).ReturnsAsync((Exception?)null);
        var timer = new Mock<ITimerFunction>();
        timer.SetupGet(f => f.Name).Returns("Retention");
        var workspaces = new Mock<IWorkspaceDirectory>(MockBehavior.Strict);
        var functions = Functions(code.Object, workspaces.Object, timer.Object);
        using var stop = new CancellationTokenSource();

        await functions.DeliverAlertsAsync(QueuesModelFactory.QueueMessage("m-2", "receipt", BinaryData.FromString("{}"), 5), stop.Token);
        await functions.RetentionAsync(new Microsoft.Azure.Functions.Worker.TimerInfo(), stop.Token);

        code.Verify(f => f.RunAsync(It.Is<QueueInvocation>(m => m.DequeueCount == 5), stop.Token), Times.Once());
        timer.Verify(f => f.RunAsync(stop.Token), Times.Once());
    }

    private static TriggerFunctions Functions(IQueueFunction code, IWorkspaceDirectory workspaces, ITimerFunction? timer = null)
    {
        var clock = Clock().Object;
        var unreachable = new Mock<IStorageProvider>(MockBehavior.Strict); // the workspace is not found, so no alert is written
        var alerts = new PoisonedMessageAlerts(new AlertStore(unreachable.Object, clock, NullLogger<AlertStore>.Instance), workspaces, clock, NullLogger<PoisonedMessageAlerts>.Instance);
        return new TriggerFunctions([code], timer is null ? [] : [timer], alerts, FunctionManifest.Load(AppContext.BaseDirectory));
    }

    /// <summary>The time stands still at <see cref="Now"/>; timers still run (the base class's).</summary>
    private static Mock<TimeProvider> Clock()
    {
        var clock = new Mock<TimeProvider> { CallBase = true };
        clock.Setup(c => c.GetUtcNow()).Returns(Now);
        return clock;
    }

    private static async Task<(int Status, string? RetryAfter, JsonElement Body)> ExecuteAsync(IResult result)
    {
        var services = new ServiceCollection().AddLogging()
            .ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower)
            .BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        await result.ExecuteAsync(context);
        context.Response.Body.Position = 0;
        var body = await JsonDocument.ParseAsync(context.Response.Body);
        return (context.Response.StatusCode, context.Response.Headers.RetryAfter.FirstOrDefault(), body.RootElement.Clone());
    }
}
