// Overview: the figures of the range against the previous one, the spend trend, where the money goes, the
// top agents, users and teams, a concentration warning, and the burn rate with its month-end projection.
import { trendChart } from '../chart';
import type { PageContext } from '../context';
import { h } from '../dom';
import { DIMENSIONS, apiQuery, dimensionQuery, granularityFor, withFilter } from '../lib/filters';
import { formatCount, formatHours, formatPct, formatTokens, formatUsd, plural } from '../lib/format';
import { changePct, changePoints, totalTokens } from '../lib/metrics';
import { routeHref } from '../lib/route';
import { dayLabel, hourLabel } from '../lib/time';
import type { Breakdown, BreakdownItem, BurnRate, Concentration, Efficiency, Overview, Timeseries } from '../types';
import { card, emptyState, shareList } from '../ui';

export async function overviewPage(context: PageContext): Promise<HTMLElement> {
  const { api, route } = context;
  const filters = route.filters;
  const query = apiQuery(filters);
  const granularity = granularityFor(filters.range);
  const breakdown = (by: string, top: number) => api.get<Breakdown>(`/api/v1/metrics/breakdown?by=${by}&top=${top}&${query}`);
  const overviewRequest = api.get<Overview>(`/api/v1/metrics/overview?${query}`);
  // Time saved has no previous-period figure of its own: ask the same question of the previous period's days.
  const previousEfficiencyRequest = overviewRequest.then((o) =>
    api.get<Efficiency>(`/api/v1/metrics/efficiency?${dimensionQuery(filters, DIMENSIONS, { from: o.previous.from, to: o.previous.to })}`),
  );
  const [overview, series, providers, models, agents, users, teams, concentration, burn, efficiency, previousEfficiency] = await Promise.all([
    overviewRequest,
    api.get<Timeseries>(`/api/v1/metrics/timeseries?granularity=${granularity}&${query}`),
    breakdown('provider', 6),
    breakdown('model', 8),
    breakdown('agent', 5),
    breakdown('user', 5),
    breakdown('team', 5),
    api.get<Concentration>(`/api/v1/metrics/concentration?${query}`),
    api.get<BurnRate>(`/api/v1/metrics/burn-rate?${dimensionQuery(filters)}`),
    api.get<Efficiency>(`/api/v1/metrics/efficiency?${query}`),
    previousEfficiencyRequest,
  ]);

  const tokens = totalTokens(overview);
  const previousTokens = totalTokens(overview.previous);
  const saved = efficiency.time_saved.saved_hours;
  const cards = h(
    'div',
    { class: 'cards' },
    card({ metric: 'cost_usd', label: 'Spend', value: overview.cost_usd, text: formatUsd(overview.cost_usd), change: overview.change_pct.cost_usd, upIsGood: false }),
    card({ metric: 'events', label: 'Events', value: overview.events, text: formatCount(overview.events), change: overview.change_pct.events, upIsGood: true }),
    card({ metric: 'tokens', label: 'Tokens', value: tokens, text: formatTokens(tokens), change: changePct(tokens, previousTokens), upIsGood: false, hint: 'input, output and cache' }),
    card({
      metric: 'unpriced_events', label: 'Unpriced events', value: overview.unpriced_events, text: formatCount(overview.unpriced_events),
      change: changePct(overview.unpriced_events, overview.previous.unpriced_events), upIsGood: false, hint: overview.unpriced_events > 0 ? 'models without a price: see Pricing' : undefined,
    }),
    card({
      metric: 'success_rate_pct', label: 'Success rate', value: overview.success_rate_pct, text: formatPct(overview.success_rate_pct),
      change: changePoints(overview.success_rate_pct, overview.previous.success_rate_pct), changeUnit: ' pp', upIsGood: true,
    }),
    card({ metric: 'saved_hours', label: 'Time saved', value: saved, text: formatHours(saved), change: changePct(saved, previousEfficiency.time_saved.saved_hours), upIsGood: true }),
  );

  const banner = concentration.warnings.length === 0
    ? null
    : h('div', { class: 'banner warning', role: 'alert', 'data-concentration': concentration.warnings.map((w) => w.provider).join(',') },
        h('strong', {}, 'Concentration: '), concentration.warnings.map((w) => w.message).join(' '));

  const burnPanel = h(
    'section',
    { class: 'panel burn', id: 'burn-rate', 'aria-labelledby': 'burn-title' },
    h('h2', { id: 'burn-title' }, 'Burn rate'),
    h(
      'dl',
      {},
      h('dt', {}, 'Per hour now'), h('dd', { 'data-metric': 'hourly_rate_usd', 'data-value': burn.hourly_rate_usd }, formatUsd(burn.hourly_rate_usd)),
      h('dt', {}, 'Last 24 hours'), h('dd', { 'data-metric': 'last24h_cost_usd', 'data-value': burn.last24h_cost_usd }, formatUsd(burn.last24h_cost_usd)),
      h('dt', {}, 'Month to date'), h('dd', { 'data-metric': 'month_to_date_cost_usd', 'data-value': burn.month_to_date_cost_usd }, formatUsd(burn.month_to_date_cost_usd)),
      h('dt', {}, 'Projected month end'), h('dd', { class: 'strong', 'data-metric': 'projected_month_end_usd', 'data-value': burn.projected_month_end_usd }, formatUsd(burn.projected_month_end_usd)),
    ),
    h('p', { class: 'muted' }, `Month-to-date spend × ${burn.month_days} days ÷ ${burn.month_elapsed_days.toFixed(2)} days elapsed.`),
  );

  const labels = series.points.map((p) => (p.hour ? hourLabel(p.hour, context.timeZone) : dayLabel(p.date!)));
  const chart = trendChart('spend-trend', granularity === 'hour' ? 'Spend hour by hour' : 'Spend day by day', labels, series.points.map((p) => p.cost_usd));
  context.onMounted(() => chart.mount());
  context.onDispose(() => chart.destroy());

  const drill = (dimension: (typeof DIMENSIONS)[number]) => (item: BreakdownItem) => ({
    key: item.key,
    value: item.cost_usd,
    text: `${formatUsd(item.cost_usd)} · ${plural(item.events, 'event')}`,
    href: item.key === null ? undefined : routeHref({ page: 'overview', filters: withFilter(filters, dimension, item.key) }),
  });
  const withOther = (b: Breakdown) => (b.other ? [...b.items, { ...b.other, key: `${b.other_values} others` } as BreakdownItem] : b.items);

  const content = h(
    'div',
    { class: 'page overview' },
    h('h1', {}, 'Overview', h('span', { class: 'range-note muted' }, ` ${overview.from} to ${overview.to}`)),
    banner,
    cards,
    overview.events === 0 ? emptyState('No usage in this range', 'Nothing was counted for these filters. Widen the range or clear a filter; new events show up within seconds of ingest.') : null,
    h('div', { class: 'grid two' }, chart.element, burnPanel),
    h(
      'div',
      { class: 'grid two' },
      shareList('Spend by provider', withOther(providers).map(drill('provider')), 'No providers in this range.', 'by-provider'),
      shareList('Spend by model', withOther(models).map(drill('model')), 'No models in this range.', 'by-model'),
    ),
    h(
      'div',
      { class: 'grid three' },
      shareList('Top agents', agents.items.map((i) => ({ ...drill('agent')(i), href: i.key === null ? undefined : routeHref({ page: 'agents', id: i.key, filters }) })), 'No agents in this range.', 'top-agents'),
      shareList('Top users', users.items.map(drill('user')), 'No users in this range.', 'top-users'),
      shareList('Top teams', teams.items.map(drill('team')), 'No teams in this range.', 'top-teams'),
    ),
  );
  return content;
}
