import type { Logger } from '@nestjs/common';
import { RetryBackoff } from './retry-backoff.js';

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = { warn: (m: string) => lines.push(`warn ${m}`), log: (m: string) => lines.push(`log ${m}`) } as unknown as Logger;
  return { logger, lines };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });

describe('RetryBackoff', () => {
  it('logs the first failure of a run and its end, once each, however many retries lie between', () => {
    const { logger, lines } = recordingLogger();
    const sut = new RetryBackoff(logger, 'expiry sweep');
    for (let i = 0; i < 50; i++) sut.failed(refused);
    sut.succeeded();
    sut.succeeded();
    expect(lines).toEqual([
      expect.stringMatching(/^warn expiry sweep failed \(database unreachable: connect ECONNREFUSED/),
      expect.stringMatching(/^log expiry sweep works again after 50 failed attempt\(s\)/),
    ]);
    sut.failed(new Error('something else'));
    expect(lines[2]).toMatch(/^warn expiry sweep failed \(something else\)/);
  });

  it('doubles its delay from minMs up to maxMs, each jittered to between half and all of it', () => {
    const sut = new RetryBackoff(recordingLogger().logger, 'task', { minMs: 100, maxMs: 5_000 });
    const ceilings = [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000];
    for (const ceiling of ceilings) {
      const delay = sut.failed(refused);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
    for (let i = 0; i < 1_000; i++) expect(sut.failed(refused)).toBeLessThanOrEqual(5_000);
    sut.succeeded();
    expect(sut.failed(refused)).toBeLessThanOrEqual(100); // a new run starts small again
  });
});
