import { describe, expect, it } from 'vitest';
import { nextSort, sortRows } from './sort';

const rows = [
  { name: 'b-agent', cost: 2, budget: null },
  { name: 'a-agent', cost: 10, budget: 50 },
  { name: 'agent-10', cost: 2, budget: 90 },
  { name: 'agent-9', cost: 0, budget: undefined },
];

describe('table sorting', () => {
  it('sorts numbers either way, keeping ties in their order and missing values last', () => {
    expect(sortRows(rows, (r) => r.cost, 'desc').map((r) => r.name)).toEqual(['a-agent', 'b-agent', 'agent-10', 'agent-9']);
    expect(sortRows(rows, (r) => r.budget, 'asc').map((r) => r.name)).toEqual(['a-agent', 'agent-10', 'b-agent', 'agent-9']);
    expect(sortRows(rows, (r) => r.budget, 'desc').map((r) => r.name)).toEqual(['agent-10', 'a-agent', 'b-agent', 'agent-9']);
  });

  it('sorts text naturally (agent-9 before agent-10)', () => {
    expect(sortRows(rows, (r) => r.name, 'asc').map((r) => r.name)).toEqual(['a-agent', 'agent-9', 'agent-10', 'b-agent']);
  });

  it('flips the direction on the same column and starts a new column with its first direction', () => {
    expect(nextSort({ column: 'cost', direction: 'desc' }, 'cost')).toEqual({ column: 'cost', direction: 'asc' });
    expect(nextSort({ column: 'cost', direction: 'asc' }, 'name', 'asc')).toEqual({ column: 'name', direction: 'asc' });
  });
});
