import { describe, expect, it } from 'vitest';
import { parseRoute, routeHref } from './route';

describe('hash routes', () => {
  it('reads the page, a detail id and the filters', () => {
    expect(parseRoute('#/agents/pr.reviewer%2Fv2?range=30d&team=apps')).toEqual({ page: 'agents', id: 'pr.reviewer/v2', filters: { range: '30d', team: 'apps' } });
    expect(parseRoute('#/runs?range=today')).toEqual({ page: 'runs', filters: { range: 'today' } });
  });

  it('falls back to the overview for an empty or unknown hash', () => {
    expect(parseRoute('')).toEqual({ page: 'overview', filters: { range: '7d' } });
    expect(parseRoute('#/nowhere/x')).toEqual({ page: 'overview', filters: { range: '7d' } });
  });

  it('prints links that read back as the same route', () => {
    const route = { page: 'sessions', id: 's 1#?', filters: { range: 'mtd', user: 'ana' } } as const;
    expect(routeHref(route)).toBe('#/sessions/s%201%23%3F?range=mtd&user=ana');
    expect(parseRoute(routeHref(route))).toEqual(route);
  });
});
