using AgentSpend.Functions.Hosting;

// The content root is the app's own folder, wherever it is started from (run.sh starts it from the repository root):
// appsettings.json, host.json and the function folders are read from there.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddAgentSpend();

var app = builder.Build();
app.MapAgentSpend();
await app.RunAsync();

/// <summary>Entry point; visible to tests that start the app in-process.</summary>
public partial class Program;
