import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface LoadRequest {
  id: number;
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

export interface LoadResult {
  id: number;
  /** Completed requests. */
  requests: number;
  seconds: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyP50: number;
  latencyP99: number;
  bytes: number;
}

/** autocannon in a forked child process (autocannon-child.js), reused across runs. */
export class AutocannonRunner {
  private readonly child: ChildProcess;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  constructor() {
    this.child = fork(join(import.meta.dirname, 'autocannon-child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: LoadResult | { id: number; error: string }) => {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if ('error' in message) waiter.reject(new Error(`autocannon: ${message.error}`));
      else waiter.resolve(message);
    });
    this.child.on('exit', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`the autocannon process exited (${code})`));
      this.waiting.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(request: Omit<LoadRequest, 'id'>): Promise<LoadResult> {
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...request, id });
    });
  }

  /** Ends the child (it exits when the IPC channel closes). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    await exited;
  }
}
