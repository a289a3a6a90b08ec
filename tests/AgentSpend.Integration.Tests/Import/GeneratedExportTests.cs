using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Import;

/// <summary>
/// Generated provider exports: every alias the importer knows for each provider, in every container it
/// reads (CSV with flat or dotted columns, JSON array, JSON lines, and each wrapper key), counted exactly.
/// </summary>
public sealed class GeneratedExportTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
    private static readonly DateTimeOffset At = DateTimeOffset.UtcNow.AddMinutes(-5);

    private static readonly string[] Models = ["model", "model_name", "modelVersion", "model_version", "response.model"];
    private static readonly string[] Times = ["timestamp", "created_at", "time", "date", "start_time", "created", "createTime", "usage_date", "starting_at"];
    private static readonly string[] Ids = ["request_id", "requestId", "response_id", "responseId", "id", "message_id"];
    private static readonly string[] Costs = ["cost_usd", "cost", "total_cost", "cost_in_usd", "amount"];
    private static readonly string[] Wrappers = ["data", "items", "logs", "records", "results", "usage"];

    /// <summary>Enough records that every alias list is gone through at least once.</summary>
    private const int RecordsPerFile = 12;

    private sealed record Expected(long Input, long Output, long CacheRead, long CacheWrite, long Reasoning, long CostMicros);

    /// <summary>Record <paramref name="i"/> of a provider: its fields by alias, and what it must count as.</summary>
    private static (Dictionary<string, string> Fields, Expected Expected) Record(string provider, string file, int i)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Models[i % Models.Length]] = provider switch { "anthropic" => "claude-sonnet-4-5", "openai" => "gpt-4.1", _ => "gemini-2.5-flash" },
            [Times[i % Times.Length]] = i % 2 == 0 ? At.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : At.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            [Ids[i % Ids.Length]] = $"{provider}-{file}-{i}",
            [Costs[i % Costs.Length]] = ((i + 1) / 1000m).ToString(CultureInfo.InvariantCulture),
        };
        var costMicros = (i + 1) * 1000L;
        long input = 1_000 + (i * 37), output = 100 + (i * 11);
        string Pick(string[] aliases, int shift = 0) => aliases[(i + shift) % aliases.Length];
        void Put(string alias, long value) => fields[alias] = value.ToString(CultureInfo.InvariantCulture);
        switch (provider)
        {
            case "anthropic":
                long cacheRead = 500 + i, cacheWrite = 50 + i;
                Put(Pick(["input_tokens", "usage.input_tokens", "uncached_input_tokens"]), input);
                Put(Pick(["output_tokens", "usage.output_tokens"]), output);
                Put(Pick(["cache_read_input_tokens", "usage.cache_read_input_tokens", "cache_read_tokens"]), cacheRead);
                Put(Pick(["cache_creation_input_tokens", "usage.cache_creation_input_tokens", "cache_write_tokens", "cache_creation_tokens"]), cacheWrite);
                return (fields, new Expected(input, output, cacheRead, cacheWrite, 0, costMicros));
            case "openai":
                long cached = input / 4, reasoning = output / 3;
                // Prompt and completion aliases are paired so that each record names at least one OpenAI-only field.
                Put(Pick(["prompt_tokens", "usage.prompt_tokens", "input_tokens", "usage.input_tokens"]), input);
                Put(Pick(["output_tokens", "usage.output_tokens", "completion_tokens", "usage.completion_tokens"]), output);
                Put(Pick(["cached_tokens", "usage.prompt_tokens_details.cached_tokens", "prompt_tokens_details.cached_tokens", "usage.input_tokens_details.cached_tokens", "input_cached_tokens"]), cached);
                Put(Pick(["reasoning_tokens", "usage.completion_tokens_details.reasoning_tokens", "completion_tokens_details.reasoning_tokens", "usage.output_tokens_details.reasoning_tokens"]), reasoning);
                return (fields, new Expected(input - cached, output, cached, 0, reasoning, costMicros));
            default:
                long geminiCached = input / 5, thoughts = 20 + i;
                Put(Pick(["prompt_token_count", "usageMetadata.promptTokenCount", "usage_metadata.prompt_token_count", "promptTokenCount"]), input);
                Put(Pick(["cached_content_token_count", "usageMetadata.cachedContentTokenCount", "usage_metadata.cached_content_token_count", "cachedContentTokenCount"]), geminiCached);
                Put(Pick(["candidates_token_count", "usageMetadata.candidatesTokenCount", "usage_metadata.candidates_token_count", "candidatesTokenCount"]), output);
                Put(Pick(["thoughts_token_count", "usageMetadata.thoughtsTokenCount", "usage_metadata.thoughts_token_count", "thoughtsTokenCount"]), thoughts);
                // Gemini bills thinking as output but reports it apart.
                return (fields, new Expected(input - geminiCached, output + thoughts, geminiCached, 0, thoughts, costMicros));
        }
    }

    /// <summary>Dotted names become nested objects, as the providers' JSON has them.</summary>
    private static Dictionary<string, object> Nest(Dictionary<string, string> fields)
    {
        var root = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, value) in fields)
        {
            var parts = name.Split('.');
            var node = root;
            foreach (var part in parts[..^1])
            {
                if (!node.TryGetValue(part, out var child))
                {
                    node[part] = child = new Dictionary<string, object>(StringComparer.Ordinal);
                }

                node = (Dictionary<string, object>)child;
            }

            node[parts[^1]] = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                : decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && value.Contains('.', StringComparison.Ordinal) ? d
                : value;
        }

        return root;
    }

    private static string Csv(List<Dictionary<string, string>> records)
    {
        var columns = records.SelectMany(r => r.Keys).Distinct(StringComparer.Ordinal).ToArray();
        var csv = new StringBuilder(string.Join(',', columns)).Append('\n');
        foreach (var record in records)
        {
            csv.AppendJoin(',', columns.Select(c => record.GetValueOrDefault(c, ""))).Append('\n');
        }

        return csv.ToString();
    }

    public static TheoryData<string> Providers => new() { "anthropic", "openai", "gemini" };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Every_alias_in_every_container_is_detected_and_counted_exactly(string provider)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "generated-" + provider }, "ingest", "read");
        var files = new List<(string Name, string Format, string Body)>();
        var expected = new List<Expected>();
        List<Dictionary<string, string>> Records(string file)
        {
            var generated = Enumerable.Range(0, RecordsPerFile).Select(i => Record(provider, file, i)).ToList();
            expected.AddRange(generated.Select(g => g.Expected));
            return generated.Select(g => g.Fields).ToList();
        }

        files.Add(("csv", "csv", Csv(Records("csv"))));
        files.Add(("array", "json", JsonSerializer.Serialize(Records("array").Select(Nest))));
        files.Add(("lines", "json", string.Join('\n', Records("lines").Select(r => JsonSerializer.Serialize(Nest(r))))));
        foreach (var wrapper in Wrappers)
        {
            files.Add((wrapper, "json", JsonSerializer.Serialize(new Dictionary<string, object> { [wrapper] = Records(wrapper).Select(Nest).ToArray() })));
        }

        using var client = app.CreateClient(key);
        foreach (var (name, format, body) in files)
        {
            using var content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await client.PostAsync("/api/v1/import", content); // format=auto: detected from the content
            var summary = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.True((int)response.StatusCode == 202, $"{name}: {summary}");
            Assert.Equal((name, format, (long)RecordsPerFile, 0L), (name, summary.Str("format"), summary.Long("imported"), summary.Long("rejected")));
        }

        var overview = await app.WaitForEventsAsync(expected.Count, Today, Today, key: key);
        Assert.Equal(
            (expected.Count, expected.Sum(e => e.Input), expected.Sum(e => e.Output), expected.Sum(e => e.CacheRead), expected.Sum(e => e.CacheWrite), expected.Sum(e => e.Reasoning), expected.Sum(e => e.CostMicros) / 1_000_000m),
            (overview.Long("events"), overview.Long("input_tokens"), overview.Long("output_tokens"), overview.Long("cache_read_tokens"), overview.Long("cache_write_tokens"), overview.Long("reasoning_tokens"), overview.Dec("cost_usd")));
        var byProvider = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=provider&from={Today}&to={Today}", key: key)).Body!.Value;
        Assert.Equal([provider == "gemini" ? "google" : provider], byProvider.GetProperty("items").EnumerateArray().Select(i => i.Str("key")));
    }
}
