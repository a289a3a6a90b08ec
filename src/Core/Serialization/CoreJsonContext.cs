using System.Text.Json.Serialization;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;

namespace AgentSpend.Core;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(Dictionary<string, long[]>))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, long[]>>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, int>))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(IngestMessage))]
[JsonSerializable(typeof(UsageEvent))]
[JsonSerializable(typeof(UsageEvent[]))]
[JsonSerializable(typeof(Alerts.Alert))]
[JsonSerializable(typeof(Alerts.AlertMessage))]
[JsonSerializable(typeof(Dictionary<string, Alerts.WebhookDeliveryResult>))]
internal sealed partial class CoreJsonContext : JsonSerializerContext;
