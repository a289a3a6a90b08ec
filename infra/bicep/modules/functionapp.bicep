// The Flex Consumption plan and the function app. AgentSpend is an isolated-worker .NET app: the platform provides
// and patches the dotnet-isolated 10.0 runtime, and the Functions host starts the worker that the package's
// worker.config.json names and invokes the functions of its functions.metadata. On Flex Consumption the runtime is
// chosen in functionAppConfig.runtime, not with FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION app settings,
// which the plan does not take. An app deployed with an earlier runtime (custom) must be created anew: changing a
// Flex Consumption app's runtime in place is known to fail.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the function app; its default host name is <name>.azurewebsites.net.')
param name string

@description('Azure region of the plan and the app.')
param location string

@description('Tags put on the plan and the app.')
param tags object

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Blob endpoint of the storage account, ending in a slash.')
param blobEndpoint string

@description('Name of the blob container the deployment package is uploaded to.')
param deploymentContainerName string

@description('Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int

@description('App settings, name to value (secure: it carries the first admin key).')
@secure()
param appSettings object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

@description('Name of the function app.')
output name string = app.name

@description('Default host name of the function app, e.g. agentspend-abc.azurewebsites.net.')
output defaultHostName string = app.properties.defaultHostName

@description('Name of the Flex Consumption plan.')
output planName string = plan.name
