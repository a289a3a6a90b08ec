// The dashboard's shell: the key prompt, the header and navigation, the filter bar, the router and the
// minute's refresh. Pages draw the content of <main>.
import './styles.css';
import { Api, ApiError } from './api';
import type { PageContext, PageRenderer } from './context';
import { append, h, replaceChildren } from './dom';
import { DIMENSIONS, type Dimension, type Filters, RANGES, RANGE_LABELS, isRange, withFilter } from './lib/filters';
import { type Page, type Route, parseRoute, routeHref } from './lib/route';
import { abilitiesOf } from './lib/scopes';
import { dateTimeLabel } from './lib/time';
import { agentDetailPage, agentsPage } from './pages/agents';
import { budgetsPage } from './pages/budgets';
import { importPage } from './pages/import';
import { overviewPage } from './pages/overview';
import { pricingPage } from './pages/pricing';
import { runDetailPage, runsPage } from './pages/runs';
import type { Breakdown, CurrentKey } from './types';
import { errorState, loadingState } from './ui';

const KEY_STORAGE = 'agentspend.key';
const REFRESH_MS = 60_000;

/** Which pages use which filters: the dimensions each page's API calls accept. */
const PAGE_FILTERS: Record<Page, readonly Dimension[] | null> = {
  overview: DIMENSIONS,
  agents: DIMENSIONS,
  runs: DIMENSIONS,
  sessions: DIMENSIONS,
  budgets: null,
  pricing: DIMENSIONS,
  import: null,
};

const NAV: { page: Page; label: string; needs: 'read' | 'ingest' }[] = [
  { page: 'overview', label: 'Overview', needs: 'read' },
  { page: 'agents', label: 'Agents', needs: 'read' },
  { page: 'runs', label: 'Runs & sessions', needs: 'read' },
  { page: 'budgets', label: 'Budgets & alerts', needs: 'read' },
  { page: 'pricing', label: 'Pricing', needs: 'read' },
  { page: 'import', label: 'Import', needs: 'ingest' },
];

const root = document.getElementById('app')!;

function start(): void {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) void signIn(key, null);
  else showKeyForm(null);
}

/** The key is asked for once per browser session and kept in sessionStorage only (gone when the tab closes). */
function showKeyForm(message: string | null): void {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'api-key-help' });
  const form = h(
    'form',
    { class: 'key-form', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title' }, 'AgentSpend'),
    h('p', {}, 'What your AI agents cost, by agent, model, user and team.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { id: 'api-key-help', class: 'muted' }, 'A read key shows the figures; an admin key can also stop agents; an ingest key can import files. The key stays in this browser tab only.'),
    message ? h('p', { class: 'form-error', role: 'alert' }, message) : null,
    h('button', { type: 'submit' }, 'Open the dashboard'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void signIn(input.value.trim(), form);
  });
  replaceChildren(root, h('main', { id: 'main', class: 'signin', 'data-state': 'signin' }, form));
  input.focus();
}

async function signIn(key: string, form: HTMLFormElement | null): Promise<void> {
  const button = form?.querySelector('button');
  if (button) button.disabled = true;
  const api = new Api(key);
  try {
    const me = await api.get<CurrentKey>('/api/v1/keys/current');
    sessionStorage.setItem(KEY_STORAGE, key);
    new Dashboard(api, me).start();
  } catch (error) {
    sessionStorage.removeItem(KEY_STORAGE);
    showKeyForm(error instanceof ApiError && error.status === 401 ? 'That key was not accepted. Check it and try again.' : `The server could not be reached: ${error instanceof Error ? error.message : error}`);
  }
}

class Dashboard {
  private readonly main = h('main', { id: 'main', tabindex: '-1', 'data-state': 'loading' });
  private readonly filterBar = h('div', { class: 'filter-bar' });
  private readonly navList = h('ul', { class: 'nav' });
  private readonly updated = h('p', { class: 'updated muted', 'aria-live': 'off' });
  private dispose: (() => void)[] = [];
  private renderCount = 0;
  private lastHash = '';
  private options: Partial<Record<Dimension, Promise<string[]>>> = {};
  private optionsRange = '';

  constructor(private readonly api: Api, private readonly me: CurrentKey) {}

  start(): void {
    const header = h(
      'header',
      { class: 'top' },
      h('a', { class: 'skip', href: '#main', onclick: (e: Event) => { e.preventDefault(); this.main.focus(); } }, 'Skip to content'),
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'AgentSpend'),
      h('nav', { 'aria-label': 'Pages' }, this.navList),
      h(
        'div',
        { class: 'who' },
        h('span', { title: `Days and hours are shown in ${this.me.workspace.timezone}` }, `${this.me.workspace.name} · ${this.me.workspace.timezone}`),
        h('button', { type: 'button', class: 'link', onclick: () => { sessionStorage.removeItem(KEY_STORAGE); this.stop(); showKeyForm(null); } }, 'Sign out'),
      ),
    );
    replaceChildren(root, header, h('div', { class: 'filters-wrap' }, this.filterBar, this.updated), this.main);
    window.addEventListener('hashchange', this.onHashChange);
    this.timer = window.setInterval(() => {
      if (!this.userIsBusy()) void this.render(true);
    }, REFRESH_MS);
    void this.render(false);
  }

  private timer = 0;

  /**
   * A refresh redraws the page, so it waits while someone types in one of its fields or while the page
   * shows the outcome of an action (an import's result, a webhook's secret shown once): marked data-hold-refresh.
   */
  private userIsBusy(): boolean {
    const focused = document.activeElement;
    return (focused !== null && focused.matches('input, select, textarea')) || this.main.querySelector('[data-hold-refresh]') !== null;
  }

  private stop(): void {
    window.clearInterval(this.timer);
    window.removeEventListener('hashchange', this.onHashChange);
  }

  private readonly onHashChange = () => void this.render(false);

  private navigate(route: Route): void {
    location.hash = routeHref(route);
  }

  private async render(refresh: boolean): Promise<void> {
    const can = abilitiesOf(this.me.grants);
    const route = parseRoute(location.hash);
    const allowed = NAV.find((n) => n.page === route.page || (route.page === 'sessions' && n.page === 'runs'))!;
    const page = can[allowed.needs] ? route.page : NAV.find((n) => can[n.needs])?.page ?? null;
    const current = page === route.page ? route : page ? { page, filters: route.filters } : route;
    const pageChanged = location.hash !== this.lastHash;
    this.lastHash = location.hash;
    this.drawNav(current, can);
    this.drawFilters(current);

    const renderId = ++this.renderCount;
    if (!refresh) {
      this.main.dataset.state = 'loading';
      this.main.setAttribute('aria-busy', 'true');
      replaceChildren(this.main, loadingState(titleOf(current.page)));
    }
    if (!page) {
      this.main.dataset.state = 'empty';
      replaceChildren(this.main, h('div', { class: 'state empty' }, h('h2', {}, 'Nothing to show for this key'), h('p', {}, 'Its scopes allow neither reading nor importing.')));
      return;
    }

    const mounted: (() => void)[] = [];
    const disposers: (() => void)[] = [];
    const context: PageContext = {
      api: this.api,
      me: this.me,
      can,
      route: current,
      timeZone: this.me.workspace.timezone,
      now: new Date(),
      navigate: (r) => this.navigate(r),
      rerender: () => void this.render(true),
      onMounted: (cb) => mounted.push(cb),
      onDispose: (cb) => disposers.push(cb),
    };
    let content: HTMLElement;
    try {
      content = await rendererOf(current)(context);
    } catch (error) {
      if (renderId !== this.renderCount) return;
      if (error instanceof ApiError && error.status === 401) {
        sessionStorage.removeItem(KEY_STORAGE);
        this.stop();
        showKeyForm('The key is no longer accepted (revoked or expired). Enter a valid key.');
        return;
      }
      if (refresh && this.main.dataset.state === 'ready') return; // keep the last good view; the next refresh tries again
      this.main.dataset.state = 'error';
      this.main.removeAttribute('aria-busy');
      replaceChildren(this.main, errorState(error, () => void this.render(false)));
      return;
    }
    if (renderId !== this.renderCount) return; // a newer render started meanwhile
    this.dispose.forEach((d) => d());
    this.dispose = disposers;
    const scroll = window.scrollY;
    replaceChildren(this.main, content);
    mounted.forEach((m) => m());
    if (refresh) window.scrollTo(0, scroll);
    this.main.dataset.state = 'ready';
    this.main.dataset.renders = String(renderId);
    this.main.removeAttribute('aria-busy');
    this.updated.textContent = `Updated ${dateTimeLabel(context.now.toISOString(), this.me.workspace.timezone)} · refreshes every minute`;
    document.title = `${titleOf(current.page)} · AgentSpend`;
    if (pageChanged && !refresh && document.activeElement === document.body) this.main.focus({ preventScroll: true });
  }

  private drawNav(route: Route, can: ReturnType<typeof abilitiesOf>): void {
    replaceChildren(
      this.navList,
      ...NAV.filter((n) => can[n.needs]).map((n) => {
        const active = n.page === route.page || (n.page === 'runs' && route.page === 'sessions');
        return h('li', {}, h('a', { href: routeHref({ page: n.page, filters: route.filters }), 'aria-current': active ? 'page' : null }, n.label));
      }),
    );
  }

  /** Range and dimension filters; each change rewrites the URL, which draws the page again. */
  private drawFilters(route: Route): void {
    const accepted = PAGE_FILTERS[route.page];
    if (accepted === null) {
      replaceChildren(this.filterBar);
      this.filterBar.hidden = true;
      return;
    }
    this.filterBar.hidden = false;
    const apply = (filters: Filters) => this.navigate({ ...route, filters });
    const range = h('select', { id: 'filter-range', name: 'range' }, ...RANGES.map((r) => h('option', { value: r, selected: r === route.filters.range }, RANGE_LABELS[r])));
    range.addEventListener('change', () => {
      if (isRange(range.value)) apply({ ...route.filters, range: range.value });
    });
    const fields = accepted.map((dimension) => {
      const listId = `options-${dimension}`;
      const input = h('input', { id: `filter-${dimension}`, name: dimension, list: listId, value: route.filters[dimension] ?? '', placeholder: 'all', autocomplete: 'off' });
      const list = h('datalist', { id: listId });
      input.addEventListener('focus', () => void this.fillOptions(dimension, route.filters.range, list), { once: true });
      input.addEventListener('change', () => apply(withFilter(route.filters, dimension, input.value)));
      return h('div', { class: 'field' }, h('label', { for: input.id }, capitalise(dimension)), input, list);
    });
    const active = accepted.some((d) => route.filters[d]);
    replaceChildren(
      this.filterBar,
      h('div', { class: 'field' }, h('label', { for: 'filter-range' }, 'Range'), range),
      ...fields,
      active ? h('button', { type: 'button', class: 'link clear', onclick: () => apply({ range: route.filters.range }) }, 'Clear filters') : null,
    );
  }

  /** The values a dimension had over the range, asked for when its field is first focused (not on every render). */
  private async fillOptions(dimension: Dimension, range: string, list: HTMLDataListElement): Promise<void> {
    if (this.optionsRange !== range) {
      this.options = {};
      this.optionsRange = range;
    }
    this.options[dimension] ??= this.api.get<Breakdown>(`/api/v1/metrics/breakdown?by=${dimension}&range=${range}&top=100`).then(
      (b) => b.items.map((i) => i.key).filter((k): k is string => k !== null),
      () => [],
    );
    append(list, ...(await this.options[dimension]!).map((value) => h('option', { value })));
  }
}

function rendererOf(route: Route): PageRenderer {
  switch (route.page) {
    case 'overview':
      return overviewPage;
    case 'agents':
      return route.id === undefined ? agentsPage : agentDetailPage;
    case 'runs':
    case 'sessions':
      return route.id === undefined ? runsPage : runDetailPage;
    case 'budgets':
      return budgetsPage;
    case 'pricing':
      return pricingPage;
    case 'import':
      return importPage;
  }
}

function titleOf(page: Page): string {
  return { overview: 'Overview', agents: 'Agents', runs: 'Runs', sessions: 'Sessions', budgets: 'Budgets & alerts', pricing: 'Pricing', import: 'Import' }[page];
}

function capitalise(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

start();
