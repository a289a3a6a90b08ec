// Days and hours as the workspace's timezone sees them (not the browser's). Pure: the timezone is a parameter.

const dayFormats = new Map<string, Intl.DateTimeFormat>();

function cached(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let format = dayFormats.get(key);
  if (!format) {
    format = make();
    dayFormats.set(key, format);
  }
  return format;
}

/** A local day of the API ("2026-12-01", already the workspace's date): "Tue 1 Dec". */
export function dayLabel(day: string): string {
  const format = cached('day', () => new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' }));
  return format.format(new Date(day + 'T12:00:00Z')).replace(',', '');
}

/** A UTC hour of the API ("2026-12-01T15:00:00Z") as the workspace's local hour: "16:00" in Europe/Berlin. */
export function hourLabel(instant: string, timeZone: string): string {
  const format = cached('hour|' + timeZone, () => new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
  return format.format(new Date(instant));
}

/** An instant as a local date and time: "1 Dec 2026, 16:33". */
export function dateTimeLabel(instant: string | null | undefined, timeZone: string): string {
  if (!instant) return '—';
  const format = cached('datetime|' + timeZone, () =>
    new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
  );
  return format.format(new Date(instant));
}

/** The workspace's local date now, YYYY-MM-DD. */
export function localToday(now: Date, timeZone: string): string {
  const format = cached('iso|' + timeZone, () => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }));
  return format.format(now);
}

/** How long ago an instant was, coarsely: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function ago(instant: string | null | undefined, now: Date): string {
  if (!instant) return 'never';
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(instant).getTime()) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}
