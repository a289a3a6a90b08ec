using System.Reflection;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Hosting.Local;

/// <summary>One function as the build defined it: its trigger and the method the host (or local mode) invokes.</summary>
public sealed record FunctionEntry(
    string Name, string EntryPoint, MethodInfo Method, string Trigger, string? Route, IReadOnlyList<string> Methods, string? AuthLevel, string? Queue, string? Schedule)
{
    public bool IsHttp => Trigger == "httpTrigger";
}

/// <summary>
/// Every function of the app, read from the metadata the build generated (<c>GeneratedFunctionMetadataProvider</c>, the
/// same that <c>functions.metadata</c> holds for the Functions host): local mode serves exactly these, so the two hosts
/// cannot drift.
/// </summary>
public sealed class FunctionCatalog(IReadOnlyList<FunctionEntry> functions)
{
    public IReadOnlyList<FunctionEntry> Functions { get; } = functions;

    public static async Task<FunctionCatalog> LoadAsync()
    {
        var metadata = await new GeneratedFunctionMetadataProvider().GetFunctionMetadataAsync(AppContext.BaseDirectory).ConfigureAwait(false);
        var assembly = typeof(FunctionCatalog).Assembly;
        var entries = new List<FunctionEntry>();
        foreach (var function in metadata.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var entryPoint = function.EntryPoint!;
            var split = entryPoint.LastIndexOf('.');
            var type = assembly.GetType(entryPoint[..split], throwOnError: true)!;
            var method = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
                .Single(m => m.GetCustomAttribute<FunctionAttribute>()?.Name == function.Name);
            using var trigger = JsonDocument.Parse(function.RawBindings!.Single(b => b.Contains("Trigger\"", StringComparison.Ordinal)));
            var root = trigger.RootElement;
            string? Str(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var methods = root.TryGetProperty("methods", out var m) ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).ToArray() : [];
            entries.Add(new FunctionEntry(function.Name!, entryPoint, method, Str("type")!, Str("route"), methods, Str("authLevel"), Str("queueName"), Str("schedule")));
        }

        return new FunctionCatalog(entries);
    }
}
