import { describe, expect, it } from 'vitest';
import { addDays, apiQuery, dimensionQuery, granularityFor, parseFilters, printFilters, rangeDays, withFilter } from './filters';

describe('filters in the URL', () => {
  it('reads the range and every dimension, and drops unknown ranges, empty values and other parameters', () => {
    expect(parseFilters('?range=30d&provider=openai&team=apps&user=&bogus=1')).toEqual({ range: '30d', provider: 'openai', team: 'apps' });
    expect(parseFilters('range=forever&agent=%20pr-reviewer%20')).toEqual({ range: '7d', agent: 'pr-reviewer' });
    expect(parseFilters('')).toEqual({ range: '7d' });
  });

  it('prints them in a fixed order, so equal filters make equal links, and reads back what it printed', () => {
    const filters = { range: 'mtd', agent: 'a b', provider: 'x&y' } as const;
    expect(printFilters(filters)).toBe('range=mtd&provider=x%26y&agent=a+b');
    expect(parseFilters(printFilters(filters))).toEqual(filters);
  });

  it('sets and clears one dimension without touching the others', () => {
    const set = withFilter({ range: '7d', team: 'apps' }, 'model', 'gpt-5');
    expect(set).toEqual({ range: '7d', team: 'apps', model: 'gpt-5' });
    expect(withFilter(set, 'team', '')).toEqual({ range: '7d', model: 'gpt-5' });
  });

  it('makes the API query of the dimensions an endpoint accepts, plus its own parameters', () => {
    const filters = { range: '30d', provider: 'openai', agent: 'bot' } as const;
    expect(apiQuery(filters)).toBe('range=30d&provider=openai&agent=bot');
    expect(apiQuery(filters, ['agent', 'user', 'team'], { limit: 50 })).toBe('range=30d&agent=bot&limit=50');
    expect(dimensionQuery(filters, undefined, { from: '2026-11-01', to: '2026-11-07' })).toBe('provider=openai&agent=bot&from=2026-11-01&to=2026-11-07');
    expect(dimensionQuery({ range: '7d' })).toBe('');
  });

  it('draws today and yesterday hour by hour and longer ranges day by day', () => {
    expect([granularityFor('today'), granularityFor('yesterday'), granularityFor('7d'), granularityFor('mtd')]).toEqual(['hour', 'hour', 'day', 'day']);
  });

  it('resolves each range to the inclusive local days the API uses', () => {
    expect(rangeDays('today', '2026-03-01')).toEqual({ from: '2026-03-01', to: '2026-03-01' });
    expect(rangeDays('yesterday', '2026-03-01')).toEqual({ from: '2026-02-28', to: '2026-02-28' });
    expect(rangeDays('7d', '2026-03-01')).toEqual({ from: '2026-02-23', to: '2026-03-01' });
    expect(rangeDays('30d', '2026-12-01')).toEqual({ from: '2026-11-02', to: '2026-12-01' });
    expect(rangeDays('90d', '2026-12-01')).toEqual({ from: '2026-09-03', to: '2026-12-01' });
    expect(rangeDays('mtd', '2026-12-17')).toEqual({ from: '2026-12-01', to: '2026-12-17' });
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
  });
});
