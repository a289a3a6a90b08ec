import { describe, expect, it } from 'vitest';
import { ago, dateTimeLabel, dayLabel, hourLabel, localToday } from './time';

describe('days and hours in the workspace timezone', () => {
  it('labels an API day as it is, whatever the timezone', () => {
    expect(dayLabel('2026-12-01')).toBe('Tue 1 Dec');
  });

  it('shows a UTC hour as the local hour of the workspace, a 45-minute offset included', () => {
    expect(hourLabel('2026-12-01T15:00:00Z', 'Europe/Berlin')).toBe('16:00');
    expect(hourLabel('2026-12-01T15:00:00Z', 'Asia/Kathmandu')).toBe('20:45');
    expect(hourLabel('2026-07-01T15:00:00Z', 'America/New_York')).toBe('11:00');
  });

  it('finds the local date, which may differ from the UTC one', () => {
    const lateUtc = new Date('2026-12-01T23:30:00Z');
    expect(localToday(lateUtc, 'UTC')).toBe('2026-12-01');
    expect(localToday(lateUtc, 'Europe/Berlin')).toBe('2026-12-02');
    expect(localToday(lateUtc, 'America/Los_Angeles')).toBe('2026-12-01');
  });

  it('prints instants locally and coarse ages', () => {
    expect(dateTimeLabel('2026-12-01T15:33:31Z', 'Europe/Berlin')).toBe('1 Dec 2026, 16:33');
    const now = new Date('2026-12-01T12:00:00Z');
    expect([ago('2026-12-01T11:59:30Z', now), ago('2026-12-01T11:55:00Z', now), ago('2026-12-01T09:00:00Z', now), ago('2026-11-28T12:00:00Z', now), ago(null, now)])
      .toEqual(['just now', '5 min ago', '3 h ago', '3 d ago', 'never']);
  });
});
