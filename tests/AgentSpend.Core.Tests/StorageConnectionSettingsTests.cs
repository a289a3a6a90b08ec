using AgentSpend.Core.Storage.Azure;
using Microsoft.Extensions.Configuration;

namespace AgentSpend.Core.Tests;

public class StorageConnectionSettingsTests
{
    private static StorageConnectionSettings Read(params (string Key, string Value)[] settings) =>
        StorageConnectionSettings.FromConfiguration(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

    [Fact]
    public void A_connection_string_wins()
    {
        var settings = Read(("AzureWebJobsStorage", "UseDevelopmentStorage=true"), ("AzureWebJobsStorage:accountName", "ignored"));

        Assert.True(settings.UsesConnectionString);
        Assert.Equal("UseDevelopmentStorage=true", settings.ConnectionString);
    }

    [Fact]
    public void An_account_name_gives_the_public_service_uris_and_the_managed_identity()
    {
        // Environment variables AzureWebJobsStorage__x arrive in configuration as AzureWebJobsStorage:x.
        var settings = Read(("AzureWebJobsStorage:accountName", "agentspendprod"), ("AzureWebJobsStorage:credential", "managedidentity"), ("AzureWebJobsStorage:clientId", "1111-2222"));

        Assert.False(settings.UsesConnectionString);
        Assert.Equal(new Uri("https://agentspendprod.table.core.windows.net"), settings.TableServiceUri);
        Assert.Equal(new Uri("https://agentspendprod.queue.core.windows.net"), settings.QueueServiceUri);
        Assert.Equal(("managedidentity", "1111-2222"), (settings.Credential, settings.ClientId));
    }

    [Fact]
    public void Explicit_service_uris_override_the_account_name()
    {
        var settings = Read(
            ("AzureWebJobsStorage:accountName", "acct"),
            ("AzureWebJobsStorage:tableServiceUri", "https://tables.example.internal/"),
            ("AzureWebJobsStorage:queueServiceUri", "https://queues.example.internal/"));

        Assert.Equal(new Uri("https://tables.example.internal/"), settings.TableServiceUri);
        Assert.Equal(new Uri("https://queues.example.internal/"), settings.QueueServiceUri);
    }

    [Fact]
    public void Nothing_configured_is_a_clear_error()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read());

        Assert.Contains("set AzureWebJobsStorage to a connection string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_service_uri_is_refused_by_name()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read(("AzureWebJobsStorage:tableServiceUri", "tables"), ("AzureWebJobsStorage:queueServiceUri", "https://q/")));

        Assert.Equal("AzureWebJobsStorage__tableServiceUri is not an absolute URI: 'tables'.", error.Message);
    }
}
