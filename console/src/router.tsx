import type { ComponentChildren, JSX } from 'preact';
import { createStore, useStore } from './store';

/** Every console URL lives under /console; the server answers each with the app shell. */
export const BASE = '/console';

function currentPath(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  return path === '' ? '/' : path;
}

const pathStore = createStore(currentPath());
window.addEventListener('popstate', () => pathStore.set(currentPath()));

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', BASE + to);
  else history.pushState(null, '', BASE + to);
  pathStore.set(currentPath());
}

export function usePath(): string {
  return useStore(pathStore);
}

/** `/keys/:id` against a path: the parameters, or null when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(got[i]);
    else if (part !== got[i]) return null;
  }
  return params;
}

interface LinkProps {
  to: string;
  children: ComponentChildren;
  class?: string;
  'aria-current'?: 'page';
  'aria-label'?: string;
}

/** An ordinary link (open in a new tab works) that navigates in place on a plain click. */
export function Link({ to, children, ...rest }: LinkProps): JSX.Element {
  const onClick = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a {...rest} href={BASE + to} onClick={onClick}>
      {children}
    </a>
  );
}
