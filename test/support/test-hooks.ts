/**
 * Replaces `object[method]` until the returned function is called; for the few tests that must
 * make a replica miss a notification, hold a reconnect or a replay back (no jest spies under ESM).
 */
export function patch<T extends object, K extends keyof T>(object: T, method: K, replacement: (original: T[K]) => T[K]): () => void {
  const original = object[method];
  const own = Object.prototype.hasOwnProperty.call(object, method);
  object[method] = replacement(typeof original === 'function' ? (original as (...a: unknown[]) => unknown).bind(object) as T[K] : original);
  return () => {
    if (own) object[method] = original;
    else delete object[method];
  };
}

/** A promise and the function that resolves it. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
