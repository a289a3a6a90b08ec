using System.Globalization;
using System.Text.Json;

namespace AgentSpend.Functions.Triggers;

/// <summary>A binding of a function.json, as far as the app needs it.</summary>
public sealed record FunctionBinding(
    string Type,
    string Direction,
    string Name,
    string? Route,
    IReadOnlyList<string> Methods,
    string? QueueName,
    string? Schedule,
    bool RunOnStartup);

public sealed record FunctionDefinition(string Name, IReadOnlyList<FunctionBinding> Bindings)
{
    public FunctionBinding Trigger => Bindings.Single(b => b.Direction == "in" && b.Type.EndsWith("Trigger", StringComparison.Ordinal));
}

/// <summary>host.json's queue settings, with the Functions host's defaults.</summary>
public sealed record QueueTriggerSettings(int BatchSize, int MaxDequeueCount, TimeSpan VisibilityTimeout, TimeSpan MaxPollingInterval);

/// <summary>
/// host.json plus every <c>*/function.json</c> beside it: the same files the Functions host reads, so the
/// standalone trigger runner and the host agree on queues, schedules and retry limits.
/// </summary>
public sealed class FunctionManifest
{
    private FunctionManifest(string routePrefix, QueueTriggerSettings queues, IReadOnlyList<FunctionDefinition> functions)
    {
        RoutePrefix = routePrefix;
        Queues = queues;
        Functions = functions;
    }

    public string RoutePrefix { get; }

    public QueueTriggerSettings Queues { get; }

    public IReadOnlyList<FunctionDefinition> Functions { get; }

    public static FunctionManifest Load(string directory)
    {
        var hostPath = Path.Combine(directory, "host.json");
        if (!File.Exists(hostPath))
        {
            throw new FileNotFoundException($"host.json not found in {directory}.", hostPath);
        }

        using var host = JsonDocument.Parse(File.ReadAllText(hostPath));
        var extensions = host.RootElement.TryGetProperty("extensions", out var ext) ? ext : default;
        var routePrefix = Get(extensions, "http")?.TryGetProperty("routePrefix", out var prefix) == true ? prefix.GetString() ?? "api" : "api";
        var queues = Get(extensions, "queues");
        var settings = new QueueTriggerSettings(
            BatchSize: ReadInt(queues, "batchSize", 16),
            MaxDequeueCount: ReadInt(queues, "maxDequeueCount", 5),
            VisibilityTimeout: ReadTime(queues, "visibilityTimeout", TimeSpan.Zero),
            MaxPollingInterval: ReadTime(queues, "maxPollingInterval", TimeSpan.FromMinutes(1)));

        var functions = Directory.GetDirectories(directory)
            .Select(d => (Name: Path.GetFileName(d), Path: Path.Combine(d, "function.json")))
            .Where(f => File.Exists(f.Path))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => new FunctionDefinition(f.Name, ReadBindings(f.Path)))
            .ToArray();
        return new FunctionManifest(routePrefix, settings, functions);
    }

    private static List<FunctionBinding> ReadBindings(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var bindings = new List<FunctionBinding>();
        foreach (var b in document.RootElement.GetProperty("bindings").EnumerateArray())
        {
            string? Str(string name) => b.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var methods = b.TryGetProperty("methods", out var m)
                ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).ToArray()
                : [];
            bindings.Add(new FunctionBinding(
                Str("type") ?? throw new InvalidDataException($"{path}: a binding has no type."),
                Str("direction") ?? throw new InvalidDataException($"{path}: a binding has no direction."),
                Str("name") ?? throw new InvalidDataException($"{path}: a binding has no name."),
                Str("route"),
                methods,
                Str("queueName"),
                Str("schedule"),
                b.TryGetProperty("runOnStartup", out var r) && r.ValueKind == JsonValueKind.True));
        }

        return bindings;
    }

    private static JsonElement? Get(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : null;

    private static int ReadInt(JsonElement? element, string name, int fallback) =>
        element is { } e && e.TryGetProperty(name, out var v) && v.TryGetInt32(out var i) ? i : fallback;

    private static TimeSpan ReadTime(JsonElement? element, string name, TimeSpan fallback) =>
        element is { } e && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? TimeSpan.Parse(v.GetString()!, CultureInfo.InvariantCulture)
            : fallback;
}
