import type { Api } from './api';
import type { Abilities } from './lib/scopes';
import type { Route } from './lib/route';
import type { CurrentKey } from './types';

/** What a page gets to draw itself: the API, who is asking, the route with its filters, and hooks. */
export interface PageContext {
  api: Api;
  me: CurrentKey;
  can: Abilities;
  route: Route;
  timeZone: string;
  now: Date;
  /** Moves to another route (and so another URL). */
  navigate(route: Route): void;
  /** Draws the current route again with fresh data (after an action, or on the minute's refresh). */
  rerender(): void;
  /** Runs once the page's content is in the document (charts measure their container). */
  onMounted(callback: () => void): void;
  /** Runs before the page's content is replaced. */
  onDispose(callback: () => void): void;
}

export type PageRenderer = (context: PageContext) => Promise<HTMLElement>;
