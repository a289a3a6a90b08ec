using Microsoft.Extensions.Configuration;

namespace AgentSpend.Core.Storage.Azure;

/// <summary>
/// Where storage is and how to authenticate, read from the same settings the Functions host reads:
/// either a connection string in <c>AzureWebJobsStorage</c> (account key, or
/// <c>UseDevelopmentStorage=true</c>), or identity-based <c>AzureWebJobsStorage__*</c> settings.
/// </summary>
public sealed record StorageConnectionSettings
{
    public const string SettingName = "AzureWebJobsStorage";

    public string? ConnectionString { get; init; }

    public Uri? TableServiceUri { get; init; }

    public Uri? QueueServiceUri { get; init; }

    /// <summary><c>managedidentity</c> for a managed identity; anything else uses the default credential chain.</summary>
    public string? Credential { get; init; }

    /// <summary>Client id of a user-assigned managed identity.</summary>
    public string? ClientId { get; init; }

    public bool UsesConnectionString => !string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>The app's identity, for storage and Key Vault alike.</summary>
    public global::Azure.Core.TokenCredential CreateCredential() =>
        string.Equals(Credential, "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new global::Azure.Identity.ManagedIdentityCredential(string.IsNullOrWhiteSpace(ClientId)
                ? global::Azure.Identity.ManagedIdentityId.SystemAssigned
                : global::Azure.Identity.ManagedIdentityId.FromUserAssignedClientId(ClientId))
            : new global::Azure.Identity.DefaultAzureCredential(new global::Azure.Identity.DefaultAzureCredentialOptions
            {
                ManagedIdentityClientId = string.IsNullOrWhiteSpace(ClientId) ? null : ClientId,
            });

    public static StorageConnectionSettings FromConfiguration(IConfiguration configuration)
    {
        var connectionString = configuration[SettingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new StorageConnectionSettings { ConnectionString = connectionString };
        }

        var section = configuration.GetSection(SettingName);
        var accountName = section["accountName"];
        var tableUri = ParseUri(section, "tableServiceUri")
            ?? (accountName is null ? null : new Uri($"https://{accountName}.table.core.windows.net"));
        var queueUri = ParseUri(section, "queueServiceUri")
            ?? (accountName is null ? null : new Uri($"https://{accountName}.queue.core.windows.net"));

        if (tableUri is null || queueUri is null)
        {
            throw new InvalidOperationException(
                $"Storage is not configured: set {SettingName} to a connection string (UseDevelopmentStorage=true for Azurite), " +
                $"or set {SettingName}__accountName (or both {SettingName}__tableServiceUri and {SettingName}__queueServiceUri) for identity-based access.");
        }

        return new StorageConnectionSettings
        {
            TableServiceUri = tableUri,
            QueueServiceUri = queueUri,
            Credential = section["credential"],
            ClientId = section["clientId"],
        };
    }

    private static Uri? ParseUri(IConfigurationSection section, string key)
    {
        var value = section[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return Uri.TryCreate(value, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"{SettingName}__{key} is not an absolute URI: '{value}'.");
    }
}
