using System.Globalization;
using System.Text.Json;

namespace AgentSpend.Functions.Triggers;

/// <summary>host.json's queue settings, with the Functions host's defaults.</summary>
public sealed record QueueTriggerSettings(int BatchSize, int NewBatchThreshold, int MaxDequeueCount, TimeSpan VisibilityTimeout, TimeSpan MaxPollingInterval);

/// <summary>
/// host.json's settings the app needs (the route prefix, the queue triggers' batch size, visibility timeout and
/// retries): the file the Functions host reads, so local mode and the host agree. The functions themselves come from
/// the generated metadata (<see cref="Hosting.Local.FunctionCatalog"/>).
/// </summary>
public sealed class FunctionManifest
{
    private FunctionManifest(string routePrefix, QueueTriggerSettings queues)
    {
        RoutePrefix = routePrefix;
        Queues = queues;
    }

    public string RoutePrefix { get; }

    public QueueTriggerSettings Queues { get; }

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
        var batchSize = ReadInt(queues, "batchSize", 16);
        var settings = new QueueTriggerSettings(
            BatchSize: batchSize,
            NewBatchThreshold: ReadInt(queues, "newBatchThreshold", batchSize / 2),
            MaxDequeueCount: ReadInt(queues, "maxDequeueCount", 5),
            VisibilityTimeout: ReadTime(queues, "visibilityTimeout", TimeSpan.Zero),
            MaxPollingInterval: ReadTime(queues, "maxPollingInterval", TimeSpan.FromMinutes(1)));

        return new FunctionManifest(routePrefix, settings);
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
