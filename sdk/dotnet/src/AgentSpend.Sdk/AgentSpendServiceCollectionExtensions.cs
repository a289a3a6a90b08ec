using System;
using System.Net.Http;
using System.Threading;
using AgentSpend.Sdk;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="AgentSpendClient"/> with dependency injection.</summary>
public static class AgentSpendServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="AgentSpendClient"/> as a singleton (disposed, and so flushed, with the container), its
    /// <see cref="AgentSpendOptions"/>, and a named <see cref="HttpClient"/> (<see cref="AgentSpendClient.HttpClientName"/>)
    /// through <c>IHttpClientFactory</c>: the client asks the factory for one per request, so handler rotation applies.
    /// Configure the HTTP stack with <c>services.AddHttpClient(AgentSpendClient.HttpClientName)</c>.
    /// </summary>
    public static IServiceCollection AddAgentSpend(this IServiceCollection services, Action<AgentSpendOptions>? configure = null)
    {
        if (services is null)
        {
            throw new ArgumentNullException(nameof(services));
        }

        services.AddOptions<AgentSpendOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddHttpClient(AgentSpendClient.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            var options = sp.GetRequiredService<IOptions<AgentSpendOptions>>().Value;
            var logger = sp.GetService<ILoggerFactory>()?.CreateLogger<AgentSpendClient>();
            return new AgentSpendClient(options, new FactoryHttpClients(factory).Get, logger, null);
        });
        return services;
    }

    /// <summary>
    /// <see cref="AddAgentSpend(IServiceCollection, Action{AgentSpendOptions}?)"/> with the options bound from
    /// <paramref name="configuration"/> (e.g. <c>builder.Configuration.GetSection("AgentSpend")</c>: <c>BaseUrl</c>,
    /// <c>ApiKey</c>, <c>AgentName</c>, <c>FlushInterval</c> as <c>00:00:01</c>, <c>FailOpen</c> …), then
    /// <paramref name="configure"/>.
    /// </summary>
    public static IServiceCollection AddAgentSpend(this IServiceCollection services, IConfiguration configuration, Action<AgentSpendOptions>? configure = null)
    {
        if (services is null)
        {
            throw new ArgumentNullException(nameof(services));
        }

        if (configuration is null)
        {
            throw new ArgumentNullException(nameof(configuration));
        }

        services.Configure<AgentSpendOptions>(configuration);
        return services.AddAgentSpend(configure);
    }
}

/// <summary>
/// A new <see cref="HttpClient"/> from the factory per request (so handler rotation applies), and the last one when the
/// factory cannot make one any more: the container disposes the client, which delivers what is buffered, after the
/// service provider itself is marked disposed.
/// </summary>
internal sealed class FactoryHttpClients
{
    private readonly IHttpClientFactory factory;
    private volatile HttpClient last;

    public FactoryHttpClients(IHttpClientFactory factory)
    {
        this.factory = factory;
        last = factory.CreateClient(AgentSpendClient.HttpClientName);
    }

    public HttpClient Get()
    {
        try
        {
            last = factory.CreateClient(AgentSpendClient.HttpClientName);
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the last client (and its handler, kept alive by it) still works.
        }

        return last;
    }
}
