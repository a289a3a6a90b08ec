// Runs and sessions: the list (events grouped by run_id or session_id) and one run's or session's detail
// with its model usage and its stored events.
import type { PageContext } from '../context';
import { h } from '../dom';
import { DIMENSIONS, activeDimensions, apiQuery } from '../lib/filters';
import { formatCount, formatDuration, formatPct, formatTokens, formatUsd } from '../lib/format';
import { routeHref } from '../lib/route';
import type { SortState } from '../lib/sort';
import { dateTimeLabel } from '../lib/time';
import type { EventPage, Run, RunDetail, RunList } from '../types';
import { type Column, emptyState, simpleTable, sortableTable, statusBadge } from '../ui';
import { eventsTable } from './agents';

let runSort: SortState = { column: 'ended', direction: 'desc' };

export async function runsPage(context: PageContext): Promise<HTMLElement> {
  const { api, route } = context;
  const kind = route.page === 'sessions' ? 'sessions' : 'runs';
  const list = await api.get<RunList>(`/api/v1/${kind}?${apiQuery(route.filters, DIMENSIONS, { limit: 100 })}`);
  const tabs = h(
    'div',
    { class: 'tabs', role: 'navigation', 'aria-label': 'Runs or sessions' },
    ...(['runs', 'sessions'] as const).map((page) => h('a', { href: routeHref({ page, filters: route.filters }), 'aria-current': page === kind ? 'page' : null }, page === 'runs' ? 'Runs' : 'Sessions')),
  );
  const heading = h('h1', {}, kind === 'runs' ? 'Runs' : 'Sessions');
  if (list.items.length === 0) {
    return h('div', { class: 'page runs' }, heading, tabs, activeDimensions(route.filters).length > 0
      ? emptyState(`No ${kind} pass these filters in this range`, 'Clear a filter above to see more.')
      : emptyState(`No ${kind} in this range`, `Events that carry a ${kind === 'runs' ? 'run_id' : 'session_id'} are grouped here.`));
  }
  const columns: Column<Run>[] = [
    { id: 'id', label: kind === 'runs' ? 'Run' : 'Session', value: (r) => r.id, firstDirection: 'asc', cell: (r) => h('a', { href: routeHref({ page: kind, id: r.id, filters: route.filters }) }, r.id) },
    { id: 'status', label: 'Status', value: (r) => r.status, firstDirection: 'asc', cell: (r) => statusBadge(r.status) },
    { id: 'agent', label: 'Agent', value: (r) => r.agent, firstDirection: 'asc', cell: (r) => r.agent ?? '—' },
    { id: 'user', label: 'User', value: (r) => r.user, firstDirection: 'asc', cell: (r) => r.user ?? '—' },
    { id: 'ended', label: 'Last event', value: (r) => r.ended_at, cell: (r) => dateTimeLabel(r.ended_at, context.timeZone) },
    { id: 'elapsed', label: 'Elapsed', numeric: true, value: (r) => r.elapsed_ms, cell: (r) => formatDuration(r.elapsed_ms) },
    { id: 'events', label: 'Events', numeric: true, value: (r) => r.events, cell: (r) => formatCount(r.events) },
    { id: 'tokens', label: 'Tokens', numeric: true, value: (r) => r.tokens, cell: (r) => formatTokens(r.tokens) },
    { id: 'cost', label: 'Spend', numeric: true, value: (r) => r.cost_usd, cell: (r) => formatUsd(r.cost_usd) },
  ];
  const table = sortableTable(`${kind === 'runs' ? 'Runs' : 'Sessions'}, latest first`, columns, list.items, runSort, (sort) => {
    runSort = sort;
    context.rerender();
  }, (r) => r.id);
  return h('div', { class: 'page runs' }, heading, tabs, table, list.next_cursor ? h('p', { class: 'muted' }, 'Showing the latest 100; narrow the range or add a filter to see others.') : null);
}

export async function runDetailPage(context: PageContext): Promise<HTMLElement> {
  const { api, route } = context;
  const kind = route.page === 'sessions' ? 'sessions' : 'runs';
  const id = encodeURIComponent(route.id!);
  const [detail, events] = await Promise.all([api.get<RunDetail>(`/api/v1/${kind}/${id}`), api.get<EventPage>(`/api/v1/${kind}/${id}/events?limit=100`)]);
  const run = detail.run;
  const fact = (label: string, value: Node | string) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'div',
    { class: 'page run' },
    h('p', {}, h('a', { href: routeHref({ page: kind, filters: route.filters }) }, kind === 'runs' ? '← All runs' : '← All sessions')),
    h('h1', {}, `${kind === 'runs' ? 'Run' : 'Session'} ${run.id} `, statusBadge(run.status)),
    h('dl', { class: 'facts' },
      ...fact('Agent', run.agent ? h('a', { href: routeHref({ page: 'agents', id: run.agent, filters: route.filters }) }, run.agent) : '—'),
      ...fact('User / team', `${run.user ?? '—'} / ${run.team ?? '—'}`),
      ...fact('Started', dateTimeLabel(run.started_at, context.timeZone)),
      ...fact('Last event', dateTimeLabel(run.ended_at, context.timeZone)),
      ...fact('Elapsed', formatDuration(run.elapsed_ms)),
      ...fact('Spend', h('span', { 'data-metric': 'cost_usd', 'data-value': run.cost_usd }, formatUsd(run.cost_usd))),
      ...fact('Events', formatCount(run.events)),
      ...fact('Tokens', formatTokens(run.tokens)),
      ...fact('Success rate', formatPct(run.success_rate_pct)),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'model-usage-title' }, h('h2', { id: 'model-usage-title' }, 'Model usage'),
      simpleTable('Per model', ['Model', 'Events', 'Input', 'Output', 'Cache read', 'Spend'],
        detail.model_usage.map((m) => [m.model, formatCount(m.events), formatCount(m.input_tokens), formatCount(m.output_tokens), formatCount(m.cache_read_tokens), formatUsd(m.cost_usd)]), [1, 2, 3, 4, 5])),
    h('section', { class: 'panel', 'aria-labelledby': 'run-events-title' }, h('h2', { id: 'run-events-title' }, 'Events'),
      events.items.length === 0 ? h('p', { class: 'empty' }, 'No stored events: raw events older than the retention are gone (the figures stay).') : eventsTable(events, context.timeZone)),
  );
}
