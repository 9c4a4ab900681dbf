#!/usr/bin/env node
// An independent verifier of keyledger's audit hash chain, written from docs/audit.md alone
// ("The hash chain"): it shares no code with keyledger. Plain Node 20+ and the `pg` package.
//
//   DATABASE_URL=postgres://reader@host/keyledger node audit-verifier.mjs [<position>:<chainHash>]
//
// Reads the events table (read only, one consistent snapshot) in chain order, recomputes
//   chain_0 = 32 zero bytes,  chain_n = SHA-256(chain_{n-1} || canonical bytes of event n)
// and prints the head as `<position>:<chainHash>` (the format of GET /admin/audit/digest's
// `digest`). Given a digest you kept, it also checks that the recomputed chain passes through it.
// Exit status: 0 ok; 1 the digest does not match; 2 usage or database error.
import { createHash } from 'node:crypto';
import pg from 'pg';

const BATCH = 5000;

/** Canonical JSON: members sorted by key (UTF-16 code units), no whitespace, JSON.stringify scalars. */
function canonical(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
}

function canonicalBytes(row) {
  return Buffer.from(
    canonical({
      eventId: row.event_id,
      metadata: JSON.parse(row.metadata),
      payload: JSON.parse(row.payload),
      position: Number(row.position),
      recordedAt: row.recorded_at,
      schemaVersion: row.schema_version,
      streamId: row.stream_id,
      streamVersion: row.stream_version,
      type: row.type,
    }),
    'utf8',
  );
}

async function main() {
  const url = process.env.DATABASE_URL;
  const wanted = process.argv[2];
  const digest = wanted === undefined ? undefined : /^(\d{1,18}):([0-9a-f]{64})$/.exec(wanted.trim());
  if (!url || (wanted !== undefined && !digest)) {
    console.error('usage: DATABASE_URL=postgres://… node audit-verifier.mjs [<position>:<chainHash>]');
    return 2;
  }
  const client = new pg.Client({ connectionString: url, application_name: 'keyledger-audit-verifier' });
  await client.connect();
  let chain = Buffer.alloc(32);
  let head = 0;
  let count = 0;
  let atDigest = digest && Number(digest[1]) === 0 ? chain.toString('hex') : undefined;
  try {
    // One snapshot for the whole walk; only transactions older than every running one, so an event
    // that commits later can never belong before what was already hashed.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let after = ['0', '0'];
    for (;;) {
      const { rows } = await client.query(
        // Qualified names: a bare ORDER BY transaction_id would sort the text output column ('1000' < '999').
        `SELECT e.global_position::text AS position, e.transaction_id::text AS transaction_id, e.event_id::text AS event_id,
                e.stream_id, e.stream_version, e.type, e.schema_version, e.payload::text AS payload, e.metadata::text AS metadata,
                to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at
           FROM events e
          WHERE e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
            AND (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
          ORDER BY e.transaction_id, e.global_position
          LIMIT ${BATCH}`,
        after,
      );
      for (const row of rows) {
        chain = createHash('sha256').update(chain).update(canonicalBytes(row)).digest();
        head = Number(row.position);
        count++;
        if (digest && head === Number(digest[1])) atDigest = chain.toString('hex');
      }
      if (rows.length < BATCH) break;
      const last = rows[rows.length - 1];
      after = [last.transaction_id, last.position];
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  console.log(`${head}:${chain.toString('hex')}`);
  console.error(`${count} events`);
  if (!digest) return 0;
  if (atDigest === digest[2]) {
    console.log(`digest ${wanted}: matches`);
    return 0;
  }
  console.log(
    atDigest === undefined
      ? `digest ${wanted}: DOES NOT MATCH (no event at position ${digest[1]} in the chain)`
      : `digest ${wanted}: DOES NOT MATCH (the chain at position ${digest[1]} is ${atDigest})`,
  );
  return 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  },
);
