using AgentSpend.Functions.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddAgentSpend();

var app = builder.Build();
app.MapAgentSpend();
await app.RunAsync();

/// <summary>Entry point; visible to tests that start the app in-process.</summary>
public partial class Program;
