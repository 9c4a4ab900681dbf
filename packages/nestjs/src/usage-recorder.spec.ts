import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import { EXPIRED, INSUFFICIENT_SCOPE, REVOKED, UsageRecorder, VALID, type UsageKey } from './usage-recorder.js';

const logger = { warn: () => undefined, log: () => undefined } as unknown as Logger;
/** Tomorrow, 00:00 UTC, and today: the recorder's first batch is today's, as at any start. */
const DAY = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000;
const D = new Date(DAY).toISOString().slice(0, 10);
const BEFORE = new Date(DAY - 1).toISOString().slice(0, 10);

/** A key as the replica hands it over: no slot yet. */
function key(keyId: string, tenantId: string): UsageKey {
  return { keyId, tenantId, usageSlot: -1 };
}

/** Reads back a one-dimensional PostgreSQL array literal, as the server would: quoted elements unescaped, NULL as null. */
function fromArrayLiteral(literal: string): (string | null)[] {
  const elements: (string | null)[] = [];
  let i = 1; // past '{'
  while (i < literal.length - 1) {
    if (literal[i] === '"') {
      let text = '';
      for (i++; literal[i] !== '"'; i++) text += literal[i] === '\\' ? literal[++i] : literal[i];
      elements.push(text);
      i += 2; // past '"' and ','
    } else {
      const end = literal.indexOf(',', i) === -1 ? literal.length - 1 : literal.indexOf(',', i);
      const text = literal.slice(i, end);
      elements.push(text === 'NULL' ? null : text);
      i = end + 1;
    }
  }
  return elements;
}

interface Written {
  lastUse: Record<string, { at: number; ip: string | null; userAgent: string | null }>;
  counts: Record<string, number>;
}

/** The one statement's parameters, read back as rows; `fail` makes the next query reject. */
function databaseStandIn(): { pool: { query: (sql: string, params: unknown[]) => Promise<void> }; flushes: Written[]; fail: () => void } {
  const flushes: Written[] = [];
  let failNext = false;
  const pool = {
    query: (_sql: string, params: unknown[]): Promise<void> => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('connection terminated'));
      }
      const [keys, at, clients, ips, agents, countKeys, tenantNumbers, tenants, days, outcomes, counts] = (params as string[]).map(
        fromArrayLiteral,
      );
      // As PostgreSQL: one statement upserts a row at most once.
      const countRows = countKeys.map((k, i) => `${k} ${days[i]} ${outcomes[i]}`);
      if (new Set(keys).size !== keys.length || new Set(countRows).size !== countRows.length) {
        return Promise.reject(new Error('ON CONFLICT DO UPDATE command cannot affect row a second time'));
      }
      const written: Written = { lastUse: {}, counts: {} };
      keys.forEach((k, i) => {
        const client = Number(clients[i]) - 1; // 1-based; 0: none
        written.lastUse[String(k)] = { at: Number(at[i]), ip: ips[client] ?? null, userAgent: agents[client] ?? null };
      });
      countKeys.forEach((k, i) => {
        const key = `${k} ${tenants[Number(tenantNumbers[i]) - 1]} ${days[i]} ${outcomes[i]}`;
        written.counts[key] = (written.counts[key] ?? 0) + Number(counts[i]);
      });
      flushes.push(written);
      return Promise.resolve();
    },
  };
  return { pool, flushes, fail: () => (failNext = true) };
}

describe('UsageRecorder', () => {
  it('writes each key once: its newest authenticated use and a count per outcome', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    sut.record(key('k1', 't1'), VALID, DAY + 2000, '10.0.0.1', 'b/2');
    sut.record(key('k1', 't1'), VALID, DAY + 1000, '10.0.0.9', 'older/1'); // older, as another request may finish later
    sut.record(key('k1', 't1'), INSUFFICIENT_SCOPE, DAY + 1500, '10.0.0.2', 'a/1');
    sut.record(key('k2', 't2'), REVOKED, DAY + 3000, '10.0.0.3', 'c/3'); // refused: counted, not a use
    sut.record(key('k2', 't2'), EXPIRED, DAY + 3000, '10.0.0.3', 'c/3');

    await sut.flush();

    expect(db.flushes).toHaveLength(1);
    expect(db.flushes[0]).toEqual({
      lastUse: { k1: { at: DAY + 2000, ip: '10.0.0.1', userAgent: 'b/2' } },
      counts: {
        [`k1 t1 ${D} valid`]: 2,
        [`k1 t1 ${D} insufficient_scope`]: 1,
        [`k2 t2 ${D} revoked`]: 1,
        [`k2 t2 ${D} expired`]: 1,
      },
    });
    expect(sut.pendingKeys).toBe(0);
    await sut.flush();
    expect(db.flushes).toHaveLength(1); // nothing new: no statement
  });

  it('keeps a failed flush and merges it into the next: counts added, the newest use kept', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    sut.record(key('k1', 't1'), VALID, DAY + 5000, '10.0.0.1', 'late/1');
    sut.record(key('k1', 't1'), REVOKED, DAY + 5000, '10.0.0.1', 'late/1');
    db.fail();
    await expect(sut.flush()).rejects.toThrow('connection terminated');
    sut.record(key('k1', 't1'), VALID, DAY + 4000, '10.0.0.2', 'early/1');
    sut.record(key('k1', 't1'), REVOKED, DAY + 4000, '10.0.0.2', 'early/1');
    sut.record(key('k2', 't1'), VALID, DAY + 4500, undefined, undefined);

    await sut.flush();

    expect(db.flushes).toEqual([
      {
        lastUse: { k1: { at: DAY + 5000, ip: '10.0.0.1', userAgent: 'late/1' }, k2: { at: DAY + 4500, ip: null, userAgent: null } },
        counts: { [`k1 t1 ${D} valid`]: 2, [`k1 t1 ${D} revoked`]: 2, [`k2 t1 ${D} valid`]: 1 },
      },
    ]);
  });

  it('counts a use after UTC midnight on the new day', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    sut.record(key('k1', 't1'), VALID, DAY - 1, undefined, undefined);
    sut.record(key('k1', 't1'), VALID, DAY, undefined, undefined);
    await sut.flush();
    expect(db.flushes[0].counts).toEqual({ [`k1 t1 ${BEFORE} valid`]: 1, [`k1 t1 ${D} valid`]: 1 });
    expect(db.flushes[0].lastUse.k1.at).toBe(DAY);
  });

  it('keeps at most 256 characters of a user agent, and never a NUL', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    sut.record(key('k1', 't1'), VALID, DAY, '10.0.0.1', `a\u0000${'x'.repeat(10_000)}`);
    await sut.flush();
    expect(db.flushes[0].lastUse.k1.userAgent).toBe(`a\ufffd${'x'.repeat(254)}`);
  });

  it('keeps 5,000 keys apart over three rounds of uses', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    const keys = Array.from({ length: 5000 }, (_, i) => key(randomUUID(), `t${i % 7}`));
    for (let round = 1; round <= 3; round++) keys.forEach((k) => sut.record(k, VALID, DAY + round, '10.0.0.1', 'x/1'));
    expect(sut.pendingKeys).toBe(5000);
    await sut.flush();
    expect(Object.keys(db.flushes[0].lastUse)).toHaveLength(5000);
    expect(keys.every((k, i) => db.flushes[0].counts[`${k.keyId} t${i % 7} ${D} valid`] === 3)).toBe(true);
  });

  it('records each key as itself when the slots it kept belong to other keys in a later interval', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    const [a, b] = [key('ka', 't1'), key('kb', 't2')];
    sut.record(a, VALID, DAY + 1, '10.0.0.1', 'a/1');
    sut.record(b, VALID, DAY + 2, '10.0.0.2', 'b/1');
    await sut.flush();
    // A new interval: b first, so it takes slot 0, which a still names.
    sut.record(b, VALID, DAY + 3, '10.0.0.2', 'b/1');
    sut.record(a, REVOKED, DAY + 4, '10.0.0.1', 'a/1');
    sut.record(b, VALID, DAY + 5, '10.0.0.2', 'b/2');
    await sut.flush();
    expect(db.flushes[1]).toEqual({
      lastUse: { kb: { at: DAY + 5, ip: '10.0.0.2', userAgent: 'b/2' } },
      counts: { [`kb t2 ${D} valid`]: 2, [`ka t1 ${D} revoked`]: 1 },
    });
  });

  it('writes one row per key whose replica entry was replaced during the interval, also after a failed flush', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    const [before, after] = [key('k1', 't1'), key('k1', 't1')]; // the replica replaced k1's entry (the key changed)
    sut.record(before, VALID, DAY + 1, '10.0.0.1', 'a/1');
    sut.record(after, VALID, DAY + 3, '10.0.0.2', 'b/1');
    sut.record(before, REVOKED, DAY + 2, '10.0.0.1', 'a/1');
    db.fail();
    await expect(sut.flush()).rejects.toThrow('connection terminated');
    sut.record(after, VALID, DAY + 2, '10.0.0.3', 'c/1'); // older than the use at DAY + 3
    sut.record(before, REVOKED, DAY + 4, '10.0.0.1', 'a/1');

    await sut.flush();

    expect(db.flushes).toEqual([
      {
        lastUse: { k1: { at: DAY + 3, ip: '10.0.0.2', userAgent: 'b/1' } },
        counts: { [`k1 t1 ${D} valid`]: 3, [`k1 t1 ${D} revoked`]: 2 },
      },
    ]);
  });

  it('keeps one slot per key however many flushes in a row fail', async () => {
    const db = databaseStandIn();
    const sut = new UsageRecorder(db.pool, logger);
    const keys = Array.from({ length: 100 }, (_, i) => key(`k${i}`, 't1'));
    for (let round = 1; round <= 3; round++) {
      keys.forEach((k) => sut.record(k, VALID, DAY + round, '10.0.0.1', 'x/1'));
      db.fail();
      await expect(sut.flush()).rejects.toThrow('connection terminated');
      expect(sut.pendingKeys).toBe(100);
    }
    keys.forEach((k) => sut.record(k, VALID, DAY + 4, '10.0.0.1', 'x/1'));
    expect(sut.pendingKeys).toBe(100);
    await sut.flush();
    expect(db.flushes[0].counts).toEqual(Object.fromEntries(keys.map((k) => [`${k.keyId} t1 ${D} valid`, 4])));
  });
});
