using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Hosting.Worker;

if (FunctionsWorkerApp.StartedByFunctionsHost(args))
{
    // Under the Functions host (func start, Azure): the host routes requests and runs the triggers.
    await FunctionsWorkerApp.CreateBuilder(args).Build().RunAsync();
    return;
}

// Local mode, without the Functions host: the same functions served and triggered by this process.
// The content root is the app's own folder, wherever it is started from (run.sh starts it from the repository root):
// appsettings.json and host.json are read from there.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddAgentSpend();

var app = builder.Build();
app.MapAgentSpend();
await app.RunAsync();

/// <summary>Entry point; visible to tests that start the app in-process.</summary>
public partial class Program;
