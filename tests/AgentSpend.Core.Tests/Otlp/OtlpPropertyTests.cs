using System.Text;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Otlp;
using AgentSpend.Core.Otlp.Proto;
using AgentSpend.Core.Workspaces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;

namespace AgentSpend.Core.Tests.Otlp;

/// <summary>
/// Random bytes and random OTLP-shaped JSON fed to the OTLP decoders and mappers: the only exception
/// allowed out is <see cref="OtlpFormatException"/>, and whatever maps must give native batches the
/// ingest parser reads without a request-level problem.
/// </summary>
public class OtlpPropertyTests
{
    private const int Cases = 500;

    private static readonly Workspace Utc = new(Workspace.DefaultId, TimeZoneInfo.Utc);

    private static readonly Gen<byte[]> RandomBytes = Gen.Choose(0, 300).SelectMany(n => Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(n));

    private static readonly string[] Keys =
    [
        "event.name", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cost_usd", "request_id", "service.name",
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.provider.name", "gen_ai.request.model", "event.kind", "input_token_count",
    ];

    private static readonly Gen<string> Values = Gen.OneOf(
        Gen.Elements("\"stringValue\":\"api_request\"", "\"stringValue\":\"claude-opus-4-8\"", "\"stringValue\":\"response.completed\"",
            "\"stringValue\":\"12\"", "\"stringValue\":\"-3\"", "\"stringValue\":\"\\u0000\"", "\"intValue\":\"99999999999999999999\"",
            "\"intValue\":5", "\"intValue\":-1", "\"doubleValue\":1e308", "\"doubleValue\":0.5", "\"boolValue\":true", "\"arrayValue\":{}", "\"kvlistValue\":{\"values\":[]}"),
        Gen.Choose(0, 1_000_000).Select(n => $"\"intValue\":{n}"));

    private static readonly Gen<string> Attribute = Gen.Elements(Keys).SelectMany(k => Values.Select(v => $"{{\"key\":\"{k}\",\"value\":{{{v}}}}}"));

    /// <summary>What real records start from: a Claude Code request, a Codex completion, a GenAI span, or nothing in particular.</summary>
    private static readonly Gen<string[]> Base = Gen.Elements(
        new[] { "{\"key\":\"event.name\",\"value\":{\"stringValue\":\"api_request\"}}", "{\"key\":\"model\",\"value\":{\"stringValue\":\"claude-opus-4-8\"}}", "{\"key\":\"input_tokens\",\"value\":{\"intValue\":\"12\"}}" },
        new[] { "{\"key\":\"event.name\",\"value\":{\"stringValue\":\"codex.sse_event\"}}", "{\"key\":\"event.kind\",\"value\":{\"stringValue\":\"response.completed\"}}", "{\"key\":\"input_token_count\",\"value\":{\"stringValue\":\"40\"}}" },
        new[] { "{\"key\":\"gen_ai.provider.name\",\"value\":{\"stringValue\":\"openai\"}}", "{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":7}}" },
        Array.Empty<string>());

    /// <summary>Random attributes before and after the base ones: the first of a key wins, so they perturb the record.</summary>
    private static readonly Gen<string> Attributes =
        from before in Gen.Choose(0, 3).SelectMany(n => Attribute.ArrayOf(n))
        from core in Base
        from after in Gen.Choose(0, 4).SelectMany(n => Attribute.ArrayOf(n))
        select "[" + string.Join(',', before.Concat(core).Concat(after)) + "]";

    private static readonly Gen<string> LogsJson =
        from resource in Attributes
        from records in Attributes.SelectMany(a => Gen.Frequency((8, Gen.Constant("\"1795349223113021210\"")), (1, Gen.Constant("0")), (1, Gen.Elements("\"x\"", "-5"))).Select(t => $"{{\"timeUnixNano\":{t},\"attributes\":{a}}}")).ArrayOf().Select(r => r.Take(5).ToArray())
        select $"{{\"resourceLogs\":[{{\"resource\":{{\"attributes\":{resource}}},\"scopeLogs\":[{{\"logRecords\":[{string.Join(',', records)}]}}]}}]}}";

    private static readonly Gen<string> TracesJson =
        from resource in Attributes
        from spans in Attributes.Select(a => $"{{\"name\":\"chat\",\"startTimeUnixNano\":\"1795349223113021210\",\"attributes\":{a}}}").ArrayOf().Select(r => r.Take(5).ToArray())
        select $"{{\"resourceSpans\":[{{\"resource\":{{\"attributes\":{resource}}},\"scopeSpans\":[{{\"spans\":[{string.Join(',', spans)}]}}]}}]}}";

    [Property(MaxTest = Cases)]
    public Property Random_bytes_decode_or_fail_with_OtlpFormatException_only() =>
        Prop.ForAll(Arb.From(RandomBytes), bytes =>
        {
            foreach (var json in new[] { false, true })
            {
                Decodes(() => OtlpUsageMapper.FromLogs(OtlpDecoder.Parse(bytes, json, ExportLogsServiceRequest.Parser)));
                Decodes(() => OtlpUsageMapper.FromTraces(OtlpDecoder.Parse(bytes, json, ExportTraceServiceRequest.Parser)));
            }

            Decodes(() => OtlpDecoder.Gunzip(bytes));
        });

    [Property(MaxTest = Cases)]
    public Property Random_OTLP_JSON_maps_to_batches_the_ingest_parser_reads() =>
        Prop.ForAll(Arb.From(Gen.OneOf(LogsJson.Select(j => (j, true)), TracesJson.Select(j => (j, false)))), input =>
        {
            var (text, logs) = input;
            var bytes = Encoding.UTF8.GetBytes(text);
            OtlpBatch? batch = null;
            Decodes(() => batch = logs
                ? OtlpUsageMapper.FromLogs(OtlpDecoder.Parse(bytes, true, ExportLogsServiceRequest.Parser))
                : OtlpUsageMapper.FromTraces(OtlpDecoder.Parse(bytes, true, ExportTraceServiceRequest.Parser)));
            if (batch is null)
            {
                return;
            }

            var parser = new IngestRequestParser(new TestClock(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero)));
            var parsed = batch.NativeBatches.Select(b => parser.Parse(b, Utc)).ToArray();
            Assert.All(parsed, p => Assert.Null(p.Problem));
            Assert.Equal(batch.UsageRecords, parsed.Sum(p => p.Accepted.Count + p.Rejected));
            // Protobuf round trip of the same export maps to the same events.
            if (logs)
            {
                var export = OtlpDecoder.Parse(bytes, true, ExportLogsServiceRequest.Parser);
                var again = OtlpUsageMapper.FromLogs(OtlpDecoder.Parse(export.ToByteArray(), false, ExportLogsServiceRequest.Parser));
                Assert.Equal(batch.NativeBatches.Select(Encoding.UTF8.GetString), again.NativeBatches.Select(Encoding.UTF8.GetString));
            }
        });

    private static void Decodes(Action decode)
    {
        try
        {
            decode();
        }
        catch (OtlpFormatException)
        {
            // the one typed error the decoders may throw
        }
    }
}
