using System.Text.Json;
using AgentSpend.Core;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Configuration;
using AgentSpend.Functions.Admin;
using AgentSpend.Functions.Agents;
using AgentSpend.Functions.Alerts;
using AgentSpend.Functions.Budgets;
using AgentSpend.Functions.Check;
using AgentSpend.Functions.Dashboard;
using AgentSpend.Functions.Events;
using AgentSpend.Functions.Runs;
using AgentSpend.Functions.Settings;
using AgentSpend.Functions.Tools;
using AgentSpend.Functions.AggregateUsage;
using AgentSpend.Functions.Audit;
using AgentSpend.Functions.Keys;
using AgentSpend.Functions.Import;
using AgentSpend.Functions.Otlp;
using AgentSpend.Functions.Pricing;
using AgentSpend.Functions.PurgeWorkspaces;
using AgentSpend.Functions.RunEvents;
using AgentSpend.Functions.Workspaces;
using AgentSpend.Functions.Health;
using AgentSpend.Functions.Ingest;
using AgentSpend.Functions.Metrics;
using AgentSpend.Functions.OpenApi;
using AgentSpend.Functions.Retention;
using AgentSpend.Functions.Hosting.Local;
using AgentSpend.Functions.Triggers;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace AgentSpend.Functions.Hosting;

/// <summary>Composition of the app, shared by Program.cs, the tests and the benchmark.</summary>
public static class AgentSpendApp
{
    /// <summary>Local mode: the app as an ASP.NET Core application that serves the functions and runs the triggers itself.</summary>
    public static WebApplicationBuilder AddAgentSpend(this WebApplicationBuilder builder)
    {
        var options = builder.Services.AddAgentSpendServices(builder.Configuration, new AppHost(AppHostKind.Local));
        if (options.LocalTriggers)
        {
            builder.Services.AddSingleton<LocalFunctionInvoker>();
            builder.Services.AddHostedService<LocalTriggerRunner>();
        }

        return builder;
    }

    /// <summary>Everything both hosts need: Core, the API's services and the shared request pipeline's.</summary>
    public static AgentSpendOptions AddAgentSpendServices(this IServiceCollection services, IConfiguration configuration, AppHost host)
    {
        services.AddSingleton(host);
        services.AddAgentSpendCore();
        services.AddProblemDetails();
        services.AddExceptionHandler<StorageOutageHandler>();
        services.AddAgentSpendOpenApi();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);

        services.AddAuthentication(AuthPolicies.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AuthPolicies.Scheme, null);
        var authorization = services.AddAuthorizationBuilder();
        foreach (var (policy, scopes) in AuthPolicies.ScopesFor)
        {
            authorization.AddPolicy(policy, p => p.RequireClaim(AuthPolicies.ScopeClaim, scopes));
        }

        // Deny by default: an endpoint that names no policy, and any path no endpoint serves, needs a valid key;
        // what anyone may reach says so with AllowAnonymous.
        authorization.SetFallbackPolicy(new AuthorizationPolicyBuilder(AuthPolicies.Scheme).RequireAuthenticatedUser().Build());

        services.AddSingleton(_ => FunctionManifest.Load(AppContext.BaseDirectory));
        services.AddSingleton(_ => Local.FunctionCatalog.LoadAsync().GetAwaiter().GetResult());
        services.AddSingleton(sp => new FunctionEndpoints(sp.GetRequiredService<Local.FunctionCatalog>(), sp.GetRequiredService<FunctionManifest>().RoutePrefix, sp));
        services.AddSingleton(_ => DashboardFiles.BesideTheApp());
        services.AddSingleton<IQueueFunction, AggregateUsageFunction>();
        services.AddSingleton<IQueueFunction, DeliverAlerts.DeliverAlertsFunction>();
        services.AddSingleton<ITimerFunction, RetentionFunction>();
        services.AddSingleton<ITimerFunction, PurgeWorkspacesFunction>();
        services.AddSingleton<ITimerFunction, RunCompletion.RunCompletionFunction>();
        services.AddSingleton<ITimerFunction, BudgetPeriods.BudgetPeriodsFunction>();
        services.AddHostedService<KeyUsageFlusher>();
        services.AddHostedService<QueueSampling>();

        // Registered before the trigger runner so that storage exists when it starts polling.
        services.AddHostedService<StartupBootstrapper>();
        var options = new AgentSpendOptions();
        AgentSpendOptions.Bind(options, configuration);
        services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
            .WithOrigins([.. options.CorsOrigins])
            .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE")
            .WithHeaders("Authorization", "Content-Type", "x-api-key")
            .WithExposedHeaders("Retry-After", "Location")));
        services.AddKeyRateLimiting(options);
        if (options.MetricsOtlpEndpoint is not null)
        {
            // The app's own metrics (AgentSpendMetrics) to any OTLP collector; the exporter reads the OTEL_* settings itself.
            services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService("agentspend", serviceVersion: Health.HealthEndpoints.Version))
                .WithMetrics(m => m.AddMeter(Core.Observability.AgentSpendMetrics.MeterName).AddOtlpExporter());
        }

        return options;
    }

    public static WebApplication MapAgentSpend(this WebApplication app)
    {
        app.UseAgentSpendPipeline();

        app.MapFunctions(app.Services.GetRequiredService<Local.FunctionCatalog>(), app.Services.GetRequiredService<FunctionManifest>().RoutePrefix);

        return app;
    }
}
