using AgentSpend.Sdk;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace AgentSpend.Sdk.Tests;

public class DependencyInjectionTests
{
    [Fact]
    public async Task AddAgentSpendRegistersASingletonOverTheHttpClientFactory()
    {
        using var server = FakeHandler.Accepting();
        var services = new ServiceCollection();
        services.AddAgentSpend(o =>
        {
            o.BaseUrl = "http://agentspend.test";
            o.ApiKey = TestClient.Key;
            o.AgentName = "di-bot";
        });
        services.AddHttpClient(AgentSpendClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => server);

        await using (var provider = services.BuildServiceProvider())
        {
            var client = provider.GetRequiredService<AgentSpendClient>();
            Assert.Same(client, provider.GetRequiredService<AgentSpendClient>());
            Assert.Equal("di-bot", client.AgentName);
            client.Record(TestClient.Event());
        }

        // Disposing the container disposed (and so flushed) the client.
        var request = Assert.Single(server.Requests);
        Assert.Equal("di-bot", request.Events[0].GetProperty("agent_name").GetString());
        Assert.Equal("Bearer " + TestClient.Key, request.Authorization);
    }

    [Fact]
    public void AddAgentSpendBindsAConfigurationSection()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AgentSpend:BaseUrl"] = "https://spend.example.com",
                ["AgentSpend:ApiKey"] = "k-from-config",
                ["AgentSpend:AgentName"] = "configured",
                ["AgentSpend:FlushInterval"] = "00:00:02",
                ["AgentSpend:MaxBatchEvents"] = "250",
                ["AgentSpend:FailOpen"] = "false",
                ["AgentSpend:Defaults:Team"] = "ops",
            })
            .Build();
        var services = new ServiceCollection();
        services.AddAgentSpend(configuration.GetSection("AgentSpend"), o => o.MaxBatchBytes = 4096);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<AgentSpendOptions>>().Value;
        Assert.Equal("https://spend.example.com", options.BaseUrl);
        Assert.Equal("k-from-config", options.ApiKey);
        Assert.Equal(TimeSpan.FromSeconds(2), options.FlushInterval);
        Assert.Equal(250, options.MaxBatchEvents);
        Assert.Equal(4096, options.MaxBatchBytes);
        Assert.False(options.FailOpen);
        Assert.Equal("ops", options.Defaults?.Team);
        var client = provider.GetRequiredService<AgentSpendClient>();
        Assert.Equal("https://spend.example.com", client.BaseUrl);
        Assert.Equal("configured", client.AgentName);
    }
}
