using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Alerts;

/// <summary>Alerts (read keys) and the webhooks they are posted to (admin keys).</summary>
public static class AlertFunctions
{
    [Function("ListAlerts")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListAlerts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/alerts")] HttpRequest request) =>
        EndpointHandler.Run(AlertEndpoints.ListAsync);

    [Function("GetAlert")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetAlert([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/alerts/{id}")] HttpRequest request) =>
        EndpointHandler.Run(AlertEndpoints.GetAsync);

    [Function("ListWebhooks")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ListWebhooks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/alerts/webhooks")] HttpRequest request) =>
        EndpointHandler.Run(AlertEndpoints.ListWebhooksAsync);

    [Function("GetWebhook")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult GetWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/alerts/webhooks/{webhookId}")] HttpRequest request) =>
        EndpointHandler.Run(AlertEndpoints.GetWebhookAsync);

    [Function("CreateWebhook")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult CreateWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/alerts/webhooks")] HttpRequest request) =>
        EndpointHandler.Run(AlertEndpoints.CreateWebhookAsync);

    [Function("ReplaceWebhook")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ReplaceWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/alerts/webhooks/{webhookId}")] HttpRequest request) =>
        EndpointHandler.Run(AlertEndpoints.ReplaceWebhookAsync);

    [Function("DeleteWebhook")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult DeleteWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/alerts/webhooks/{webhookId}")] HttpRequest request) =>
        EndpointHandler.Run(AlertEndpoints.DeleteWebhookAsync);
}
