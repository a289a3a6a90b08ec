import { describe, expect, it } from 'vitest';
import { formatChange, formatCount, formatDuration, formatPct, formatTokens, formatUsd, plural } from './format';

describe('formatting', () => {
  it('shows dollars with cents, fractions of a cent below $1, and whole dollars from $1,000', () => {
    expect([formatUsd(0), formatUsd(0.0321), formatUsd(0.15), formatUsd(0.1508), formatUsd(0.125), formatUsd(0.00004), formatUsd(12.345), formatUsd(1234.5), formatUsd(-2.5), formatUsd(null)])
      .toEqual(['$0.00', '$0.0321', '$0.15', '$0.1508', '$0.125', '<$0.0001', '$12.35', '$1,235', '-$2.50', '—']);
  });

  it('groups counts and shortens large token counts', () => {
    expect([formatCount(1234567), formatTokens(9876), formatTokens(12_345), formatTokens(4_560_000), formatTokens(1_200_000_000)])
      .toEqual(['1,234,567', '9,876', '12.3K', '4.56M', '1.20B']);
  });

  it('signs a change and says "new" when there is nothing to compare with', () => {
    expect(formatChange(12.5)).toEqual({ text: '+12.5%', trend: 'up' });
    expect(formatChange(-3)).toEqual({ text: '−3.0%', trend: 'down' });
    expect(formatChange(0, ' pp')).toEqual({ text: '±0.0 pp', trend: 'flat' });
    expect(formatChange(null)).toEqual({ text: 'new', trend: 'none' });
  });

  it('names counts with their noun, singular for one', () => {
    expect([plural(1, 'event'), plural(0, 'event'), plural(1234, 'run')]).toEqual(['1 event', '0 events', '1,234 runs']);
  });

  it('reads percentages and durations', () => {
    expect([formatPct(50), formatPct(null), formatDuration(850), formatDuration(12_340), formatDuration(245_000), formatDuration(7_380_000)])
      .toEqual(['50.0%', '—', '850 ms', '12.3 s', '4 min 05 s', '2 h 03 min']);
  });
});
