// The Key Vault that keeps the key encrypting the secrets AgentSpend stores (webhook URLs and signing secrets): a
// key kept outside the storage account it protects. The vault uses Azure RBAC only, with no access policies; the
// app's identity gets Key Vault Secrets Officer on it (roles.bicep). The app creates the key on its first start
// (32 random bytes); a rotation is a new version of the same secret, set by an operator.

@description('Name of the Key Vault (3-24 letters, digits and hyphens, unique across Azure).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags put on the vault.')
param tags object

@description('Days a deleted secret or vault can be recovered.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // A purged key would leave every secret it encrypted unreadable: purging waits for the retention period.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

@description('URI of the vault (AGENTSPEND_KEY_VAULT_URI).')
output uri string = vault.properties.vaultUri

@description('Name of the vault.')
output name string = vault.name
