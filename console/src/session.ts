import { createStore } from './store';
import type { ConsoleSession } from './types';

/**
 * The pasted key lives here and in sessionStorage (this tab only, gone when the tab closes), never
 * in localStorage, a cookie or a URL. Signing out, or any 401, forgets it.
 */
const STORAGE_KEY = 'keyledger.console.key';

export interface SessionState {
  key: string | null;
  me: ConsoleSession | null;
  /** Why the sign-in page is showing (signed out, key rejected). */
  notice: string | null;
}

function stored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the key then lives in memory only
  }
}

export const session = createStore<SessionState>({ key: stored(), me: null, notice: null });

export function signIn(key: string, me: ConsoleSession): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // memory only
  }
  session.set({ key, me, notice: null });
}

export function signOut(notice: string | null = null): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
  session.set({ key: null, me: null, notice });
  signOutListeners.forEach((listener) => listener());
}

const signOutListeners = new Set<() => void>();

/** Other modules drop what they hold for the signed-in key (lists, caches) when it signs out. */
export function onSignOut(listener: () => void): void {
  signOutListeners.add(listener);
}

export function currentKey(): string | null {
  return session.get().key;
}
