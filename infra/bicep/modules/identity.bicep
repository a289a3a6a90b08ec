// The user-assigned managed identity the function app runs as. The Functions host and the app itself
// (AzureWebJobsStorage__credential=managedidentity, __clientId) reach storage with it, and the platform
// reads the deployment package with it: no account key exists anywhere.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags put on the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity (for the function app\'s identity block and the deployment storage authentication).')
output id string = identity.id

@description('Client id of the identity (AzureWebJobsStorage__clientId).')
output clientId string = identity.properties.clientId

@description('Principal (object) id of the identity, the subject of its role assignments.')
output principalId string = identity.properties.principalId

@description('Name of the identity.')
output name string = identity.name
