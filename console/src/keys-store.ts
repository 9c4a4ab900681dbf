import { api, ApiError, type ListStatus } from './api';
import { onSignOut } from './session';
import { createStore } from './store';
import type { KeyView } from './types';

export type StatusFilter = 'any' | 'active' | 'expired' | 'revoked';

export interface KeyFilters {
  tenantId: string;
  status: StatusFilter;
  name: string;
  /** `key` or `key=value`. */
  tag: string;
  /** The "show expired and revoked" switch. */
  showInactive: boolean;
}

export interface KeysState {
  filters: KeyFilters;
  items: KeyView[];
  /** The API's nextCursor for "Load more"; null at the end. */
  cursor: string | null;
  loading: boolean;
  loaded: boolean;
  error: ApiError | null;
  /** The key just created: highlighted until the next reload. */
  highlight: string | null;
  /** How many loads have finished (exposed as data-loads: tests wait on it rather than on timing). */
  loads: number;
}

export const PAGE_SIZE = 25;
/** The API filters by tenant and status; name and tag are matched here, over as many API pages as it takes to fill one. */
const SCAN_PAGE = 100;
const MAX_SCAN_PAGES = 20;

const initialFilters: KeyFilters = { tenantId: '', status: 'any', name: '', tag: '', showInactive: false };

const initialState: KeysState = {
  filters: initialFilters,
  items: [],
  cursor: null,
  loading: false,
  loaded: false,
  error: null,
  highlight: null,
  loads: 0,
};

export const keysStore = createStore<KeysState>(initialState);

/** Signing out forgets the list and its filters; `loads` keeps counting (tests wait on it). */
onSignOut(() => keysStore.set((s) => ({ ...initialState, loads: s.loads })));

export function apiStatus(filters: KeyFilters): ListStatus {
  if (filters.status !== 'any') return filters.status;
  return filters.showInactive ? 'all' : 'active';
}

function matcher(filters: KeyFilters): ((key: KeyView) => boolean) | null {
  const name = filters.name.trim().toLowerCase();
  const tag = filters.tag.trim();
  if (name === '' && tag === '') return null;
  const eq = tag.indexOf('=');
  const tagKey = eq === -1 ? tag : tag.slice(0, eq).trim();
  const tagValue = eq === -1 ? undefined : tag.slice(eq + 1).trim();
  return (key) =>
    (name === '' || key.name.toLowerCase().includes(name)) &&
    (tagKey === '' || (Object.hasOwn(key.tags, tagKey) && (tagValue === undefined || key.tags[tagKey] === tagValue)));
}

let generation = 0;

async function fetchPage(filters: KeyFilters, cursor: string | null): Promise<{ items: KeyView[]; cursor: string | null }> {
  const match = matcher(filters);
  const status = apiStatus(filters);
  const tenantId = filters.tenantId.trim() || undefined;
  if (match === null) {
    const page = await api.listKeys({ tenantId, status, limit: PAGE_SIZE, cursor });
    return { items: page.items, cursor: page.nextCursor };
  }
  const items: KeyView[] = [];
  let next = cursor;
  for (let scanned = 0; scanned < MAX_SCAN_PAGES; scanned++) {
    const page = await api.listKeys({ tenantId, status, limit: SCAN_PAGE, cursor: next });
    items.push(...page.items.filter(match));
    next = page.nextCursor;
    if (next === null || items.length >= PAGE_SIZE) break;
  }
  return { items, cursor: next };
}

async function load(append: boolean): Promise<void> {
  const mine = ++generation;
  const { filters, cursor } = keysStore.get();
  keysStore.set((s) => ({
    ...s,
    loading: true,
    error: null,
    ...(append ? {} : { items: [], cursor: null, loaded: false, highlight: null }),
  }));
  try {
    const page = await fetchPage(filters, append ? cursor : null);
    if (mine !== generation) return;
    keysStore.set((s) => ({
      ...s,
      items: append ? [...s.items, ...page.items.filter((k) => !s.items.some((o) => o.id === k.id))] : page.items,
      cursor: page.cursor,
      loading: false,
      loaded: true,
      loads: s.loads + 1,
    }));
  } catch (error) {
    if (mine !== generation) return;
    keysStore.set((s) => ({
      ...s,
      loading: false,
      loaded: true,
      loads: s.loads + 1,
      error: error instanceof ApiError ? error : new ApiError(0, 'UNKNOWN', String(error)),
    }));
  }
}

/** From the first page with the current filters: what "reload" means (rows kept only for this view go). */
export function reloadKeys(): Promise<void> {
  return load(false);
}

export function loadMoreKeys(): Promise<void> {
  return load(true);
}

export function setFilters(change: Partial<KeyFilters>): void {
  keysStore.set((s) => ({ ...s, filters: { ...s.filters, ...change } }));
}

/**
 * A key changed here (expired, revoked, edited): its row is updated in place and stays in view,
 * greyed out with its new status, even where the filters would now hide it, until the next reload.
 */
export function patchKey(view: KeyView): void {
  // A command's answer carries no last use: the listed one stays.
  keysStore.set((s) => ({ ...s, items: s.items.map((k) => (k.id === view.id ? { ...k, ...view } : k)) }));
}

/** A key created here goes on top of the list, marked as new. */
export function addKey(view: KeyView): void {
  keysStore.set((s) => ({ ...s, items: [view, ...s.items.filter((k) => k.id !== view.id)], highlight: view.id }));
}
