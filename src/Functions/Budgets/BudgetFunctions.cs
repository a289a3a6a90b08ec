using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Budgets;

/// <summary>Budgets: read keys list and read them, admin keys change them.</summary>
public static class BudgetFunctions
{
    [Function("ListBudgets")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListBudgets([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/budgets")] HttpRequest request) =>
        EndpointHandler.Run(BudgetEndpoints.ListAsync);

    [Function("GetBudget")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetBudget([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/budgets/{id}")] HttpRequest request) =>
        EndpointHandler.Run(BudgetEndpoints.GetAsync);

    [Function("CreateBudget")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult CreateBudget([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/budgets")] HttpRequest request) =>
        EndpointHandler.Run(BudgetEndpoints.CreateAsync);

    [Function("ReplaceBudget")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ReplaceBudget([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/budgets/{id}")] HttpRequest request) =>
        EndpointHandler.Run(BudgetEndpoints.ReplaceAsync);

    [Function("DeleteBudget")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult DeleteBudget([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/budgets/{id}")] HttpRequest request) =>
        EndpointHandler.Run(BudgetEndpoints.DeleteAsync);

    [Function("ResetBudget")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ResetBudget([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/budgets/{id}/reset")] HttpRequest request) =>
        EndpointHandler.Run(BudgetEndpoints.ResetAsync);
}
