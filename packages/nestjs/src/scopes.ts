/** The scope check the guard makes; the scope language and granting rules are the registry's. */
export const ADMIN_SCOPE = 'admin';

/**
 * `admin` covers everything; otherwise segment by segment, a held `*` covers any one segment, and a
 * trailing held `*` covers one or more segments (`invoices:*` covers `invoices:read:all`, not `invoices`).
 */
export function scopeCovers(held: string, wanted: string): boolean {
  if (held === ADMIN_SCOPE || held === wanted) return true;
  const h = held.split(':');
  const w = wanted.split(':');
  for (let i = 0; i < h.length; i++) {
    if (i >= w.length) return false;
    if (h[i] === '*') {
      if (i === h.length - 1) return true;
    } else if (h[i] !== w[i]) {
      return false;
    }
  }
  return h.length === w.length;
}

export function hasScopes(held: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((scope) => held.some((h) => scopeCovers(h, scope)));
}
