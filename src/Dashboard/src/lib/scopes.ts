// What the dashboard offers a key: read pages need `read`, the import page `ingest`, kill, resume, webhooks and
// re-pricing `admin`. The server says which of these the key's scopes grant (GET /api/v1/keys/current).

export interface Abilities {
  read: boolean;
  ingest: boolean;
  admin: boolean;
}

export function abilitiesOf(grants: readonly string[]): Abilities {
  return { read: grants.includes('read'), ingest: grants.includes('ingest'), admin: grants.includes('admin') };
}
