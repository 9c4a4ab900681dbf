/**
 * The two ways a test may wait, each for something the documented contract says is asynchronous
 * (a NOTIFY reaching a replica, a sweeper's tick, a process starting): never a fixed sleep, and
 * never to paper over a response that should already be right. Both fail naming what was awaited
 * and the last thing seen.
 */
export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const show = (value: unknown): string => {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

/**
 * Calls `probe` until `accept` holds for its result (by default: until the result is truthy) and
 * returns that result. `until('the sweeper to expire it', async () => (await status()) === 'expired')`.
 */
export async function until<T>(what: string, probe: () => Promise<T> | T, options?: PollOptions): Promise<T>;
export async function until<T>(what: string, probe: () => Promise<T> | T, accept: (value: T) => boolean, options?: PollOptions): Promise<T>;
export async function until<T>(
  what: string,
  probe: () => Promise<T> | T,
  acceptOrOptions?: ((value: T) => boolean) | PollOptions,
  maybeOptions: PollOptions = {},
): Promise<T> {
  const accept = typeof acceptOrOptions === 'function' ? acceptOrOptions : (value: T): boolean => Boolean(value);
  const { timeoutMs = 5000, intervalMs = 20 } = typeof acceptOrOptions === 'function' ? maybeOptions : (acceptOrOptions ?? {});
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${show(value)}`);
    await pause(intervalMs);
  }
}

/**
 * Runs `assertion` until it stops throwing and returns its result; after `timeoutMs` fails with
 * the last error. `eventually('the revoked key to be refused', () => whoami(token).expect(401))`.
 */
export async function eventually<T>(
  what: string,
  assertion: () => Promise<T> | T,
  { timeoutMs = 5000, intervalMs = 20 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() >= deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${show(error)}`, { cause: error });
      }
    }
    await pause(intervalMs);
  }
}
