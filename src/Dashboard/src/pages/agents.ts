// Agents: every agent with its status, spend by period, budget bar and last activity; an admin key also gets
// kill and resume buttons. An agent's own page: its model mix, its last days, its runs and its latest events.
import { trendChart } from '../chart';
import type { PageContext } from '../context';
import { h } from '../dom';
import { DIMENSIONS, activeDimensions, apiQuery, dimensionQuery } from '../lib/filters';
import { formatCount, formatDuration, formatTokens, formatUsd, plural } from '../lib/format';
import { routeHref } from '../lib/route';
import type { SortState } from '../lib/sort';
import { ago, dateTimeLabel, dayLabel } from '../lib/time';
import type { Agent, AgentDetail, AgentList, EventPage, RunList } from '../types';
import { type Column, budgetBar, emptyState, shareList, simpleTable, sortableTable, statusBadge } from '../ui';

let agentSort: SortState = { column: 'month', direction: 'desc' };

export async function agentsPage(context: PageContext): Promise<HTMLElement> {
  const { api, route, can } = context;
  // The list's periods are fixed (today, this week, this month, all time); the filters narrow each agent's usage.
  const list = await api.get<AgentList>(`/api/v1/agents?${dimensionQuery(route.filters)}`);
  const agents = list.agents;
  const heading = h('h1', {}, 'Agents');
  if (agents.length === 0) {
    return h('div', { class: 'page agents' }, heading, activeDimensions(route.filters).length > 0
      ? emptyState('No agent has usage that passes these filters', 'Clear a filter above to see more.')
      : emptyState('No agents yet', 'Agents appear here once they send usage (ingest, OTLP or an import).'));
  }

  const columns: Column<Agent>[] = [
    { id: 'name', label: 'Agent', value: (a) => a.name, firstDirection: 'asc', cell: (a) => h('a', { href: routeHref({ page: 'agents', id: a.name, filters: route.filters }) }, a.name) },
    { id: 'status', label: 'Status', value: (a) => a.status, firstDirection: 'asc', cell: (a) => statusBadge(a.status) },
    { id: 'today', label: 'Today', numeric: true, value: (a) => a.today.cost_usd, cell: (a) => formatUsd(a.today.cost_usd) },
    { id: 'week', label: 'This week', numeric: true, value: (a) => a.week.cost_usd, cell: (a) => formatUsd(a.week.cost_usd) },
    { id: 'month', label: 'This month', numeric: true, value: (a) => a.month.cost_usd, cell: (a) => formatUsd(a.month.cost_usd) },
    { id: 'budget', label: 'Budget used', value: (a) => a.budget_used_pct, cell: (a) => budgetBar(a.budget_used_pct, `${a.name}: budget used`) },
    { id: 'model', label: 'Main model', value: (a) => a.primary_model, firstDirection: 'asc', cell: (a) => a.primary_model ?? '—' },
    {
      id: 'last_active', label: 'Last active', value: (a) => a.last_active,
      cell: (a) => h('time', { datetime: a.last_active ?? '', title: dateTimeLabel(a.last_active, context.timeZone) }, ago(a.last_active, context.now)),
    },
  ];
  if (can.admin) columns.push({ id: 'control', label: 'Control', cell: (a) => controlButton(context, a) });

  const table = sortableTable('Agents, dearest this month first', columns, agents, agentSort, (sort) => {
    agentSort = sort;
    context.rerender();
  }, (a) => a.name);
  return h('div', { class: 'page agents' }, heading, h('p', { class: 'muted' }, `${plural(agents.length, 'agent')}. Spend by the workspace's calendar (${context.timeZone}).`), table);
}

/** Kill stops the agent's checks at once; resume lifts the switch (and a budget's pause). Both are audited. */
function controlButton(context: PageContext, agent: Agent): HTMLElement {
  const stopped = agent.status === 'killed' || agent.status === 'paused';
  const action = stopped ? 'resume' : 'kill';
  const button = h('button', { type: 'button', class: stopped ? 'secondary' : 'danger', 'data-action': action, 'data-agent': agent.name }, stopped ? 'Resume' : 'Kill');
  button.addEventListener('click', async () => {
    if (action === 'kill' && !window.confirm(`Stop ${agent.name}? Its pre-flight checks will answer "killed" until it is resumed.`)) return;
    button.disabled = true;
    button.textContent = stopped ? 'Resuming…' : 'Killing…';
    try {
      await context.api.post(`/api/v1/agents/${encodeURIComponent(agent.name)}/${action}`, action === 'kill' ? { reason: 'Stopped from the dashboard' } : undefined);
    } catch (error) {
      window.alert(`Could not ${action} ${agent.name}: ${error instanceof Error ? error.message : error}`);
    }
    context.rerender();
  });
  return button;
}

export async function agentDetailPage(context: PageContext): Promise<HTMLElement> {
  const { api, route } = context;
  const name = route.id!;
  const [detail, runs, events] = await Promise.all([
    // The page's filters, with this agent in place of any other.
    api.get<AgentDetail>(`/api/v1/agents/${encodeURIComponent(name)}?${apiQuery({ ...route.filters, agent: undefined })}`),
    api.get<RunList>(`/api/v1/runs?${apiQuery({ ...route.filters, agent: name }, DIMENSIONS, { limit: 20 })}`),
    api.get<EventPage>(`/api/v1/events?${apiQuery({ ...route.filters, agent: name }, DIMENSIONS, { limit: 20 })}`),
  ]);
  const agent = detail.agent;
  const history = trendChart('agent-history', 'Spend, last 7 days', detail.history.map((p) => dayLabel(p.date!)), detail.history.map((p) => p.cost_usd));
  context.onMounted(() => history.mount());
  context.onDispose(() => history.destroy());
  const period = (label: string, usage: Agent['today']) =>
    h('div', { class: 'card small' }, h('h3', { class: 'card-label' }, label), h('p', { class: 'card-value' }, formatUsd(usage.cost_usd)), h('p', { class: 'muted' }, `${plural(usage.events, 'event')} · ${formatTokens(usage.tokens)} tokens`));

  return h(
    'div',
    { class: 'page agent' },
    h('p', {}, h('a', { href: routeHref({ page: 'agents', filters: route.filters }) }, '← All agents')),
    h('h1', {}, agent.name, ' ', statusBadge(agent.status)),
    h('p', { class: 'muted' }, `Last active ${dateTimeLabel(agent.last_active, context.timeZone)} · main model ${agent.primary_model ?? '—'}`, ' · ', budgetBar(agent.budget_used_pct, 'Budget used')),
    h('div', { class: 'cards' }, period('Today', agent.today), period('This week', agent.week), period('This month', agent.month), period('All time', agent.all_time)),
    h(
      'div',
      { class: 'grid two' },
      shareList(`Model mix, ${detail.from} to ${detail.to}`, detail.models.map((m) => ({ key: m.key, value: m.cost_usd, text: `${formatUsd(m.cost_usd)} · ${plural(m.events, 'event')}` })), 'No model used in this range.', 'model-mix'),
      history.element,
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'agent-runs-title' }, h('h2', { id: 'agent-runs-title' }, 'Runs'),
      runs.items.length === 0 ? h('p', { class: 'empty' }, 'No runs in this range (events without a run_id are not grouped).')
        : simpleTable('The agent\'s latest runs', ['Run', 'Status', 'Started', 'Elapsed', 'Events', 'Spend'],
            runs.items.map((r) => [h('a', { href: routeHref({ page: 'runs', id: r.id, filters: route.filters }) }, r.id), statusBadge(r.status), dateTimeLabel(r.started_at, context.timeZone), formatDuration(r.elapsed_ms), formatCount(r.events), formatUsd(r.cost_usd)]), [3, 4, 5])),
    h('section', { class: 'panel', 'aria-labelledby': 'agent-events-title' }, h('h2', { id: 'agent-events-title' }, 'Latest events'),
      events.items.length === 0 ? h('p', { class: 'empty' }, 'No stored events in this range.') : eventsTable(events, context.timeZone)),
  );
}

export function eventsTable(events: EventPage, timeZone: string): HTMLElement {
  return simpleTable('Events, newest first', ['Time', 'Model', 'User', 'Input', 'Output', 'Cache', 'Spend', 'Outcome'],
    events.items.map((e) => [
      dateTimeLabel(e.timestamp, timeZone), `${e.provider} / ${e.model}`, e.user_id ?? '—', formatCount(e.input_tokens), formatCount(e.output_tokens),
      formatCount(e.cache_read_tokens + e.cache_write_tokens), e.cost_usd === null ? 'unpriced' : formatUsd(e.cost_usd),
      e.task_success === null ? '—' : e.task_success ? 'success' : 'failure',
    ]), [3, 4, 5, 6]);
}
