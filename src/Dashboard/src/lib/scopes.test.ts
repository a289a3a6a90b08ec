import { describe, expect, it } from 'vitest';
import { abilitiesOf } from './scopes';

describe('what a key is offered', () => {
  it('follows the grants the server reports', () => {
    expect(abilitiesOf(['read'])).toEqual({ read: true, ingest: false, admin: false });
    expect(abilitiesOf(['ingest'])).toEqual({ read: false, ingest: true, admin: false });
    expect(abilitiesOf(['ingest', 'read', 'admin', 'instance-admin'])).toEqual({ read: true, ingest: true, admin: true });
  });
});
