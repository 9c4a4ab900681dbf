import type { ProjectionsService } from '../../event-store/index.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the async projections up to the head, as the server would. Another process (a running
 * server) may hold a projection's lock and be doing the same, so this waits, bounded, until no
 * projection lags; resolves with the lag that remains (0: caught up).
 */
export async function settleProjections(projections: ProjectionsService, timeoutMs: number, only?: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await projections.catchUp(Math.max(0, deadline - Date.now()));
    const lag = (await projections.status())
      .filter((s) => s.kind === 'async' && (only === undefined || s.name === only))
      .reduce((sum, s) => sum + s.lag, 0);
    if (lag === 0 || Date.now() >= deadline) return lag;
    await sleep(50);
  }
}
