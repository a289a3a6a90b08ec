using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Auth;

/// <summary>Under the Functions host the console is the platform's log: no admin key is generated there, so none can be printed into it.</summary>
public sealed class HostBootstrapTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Under_the_host_without_an_admin_key_setting_none_is_generated_and_a_warning_says_what_to_set()
    {
        await using var app = await TestApp.StartAsync(
            azurite,
            new Dictionary<string, string?> { ["AGENTSPEND_ADMIN_KEY"] = "" },
            services: s => s.AddSingleton(new AppHost(AppHostKind.FunctionsHost)));

        var rows = new List<string>();
        await foreach (var row in app.Storage.GetTable(StorageNames.ApiKeysTable).QueryAsync(null))
        {
            rows.Add($"{row.PartitionKey}/{row.RowKey}");
        }

        // No key, no index row, and no marker that would stop a later local start from generating one.
        Assert.Equal(["bootstrap/key-index-v1", "bootstrap/key-partitions-v2"], rows);
        Assert.Contains(app.LogLines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("AGENTSPEND_ADMIN_KEY is not set: under the Functions host no admin key is generated", StringComparison.Ordinal));
    }
}
