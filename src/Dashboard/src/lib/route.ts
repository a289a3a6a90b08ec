// Hash routes: #/overview, #/agents, #/agents/<name>, #/runs, #/runs/<id>, #/sessions, #/sessions/<id>,
// #/budgets, #/pricing, #/import, each followed by the filters' query. Hash routing keeps every view on the
// one page the server answers for /dashboard/, whatever an agent's or run's name holds (dots, slashes).
import { type Filters, parseFilters, printFilters } from './filters';

export const PAGES = ['overview', 'agents', 'runs', 'sessions', 'budgets', 'pricing', 'import'] as const;
export type Page = (typeof PAGES)[number];

export interface Route {
  page: Page;
  /** The agent's name, or the run's or session's id, of a detail view. */
  id?: string;
  filters: Filters;
}

export function parseRoute(hash: string): Route {
  const body = hash.replace(/^#\/?/, '');
  const queryAt = body.indexOf('?');
  const path = queryAt < 0 ? body : body.slice(0, queryAt);
  const filters = parseFilters(queryAt < 0 ? '' : body.slice(queryAt + 1));
  const slash = path.indexOf('/');
  const head = slash < 0 ? path : path.slice(0, slash);
  const page = (PAGES as readonly string[]).includes(head) ? (head as Page) : 'overview';
  const rawId = slash < 0 || page !== head ? '' : path.slice(slash + 1);
  const id = rawId ? safeDecode(rawId) : undefined;
  return id === undefined ? { page, filters } : { page, id, filters };
}

export function routeHref(route: Route): string {
  const id = route.id === undefined ? '' : '/' + encodeURIComponent(route.id);
  return `#/${route.page}${id}?${printFilters(route.filters)}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
