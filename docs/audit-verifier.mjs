#!/usr/bin/env node
// An independent verifier of keyledger's audit hash chain, written from docs/audit.md alone
// ("The hash chain"): it shares no code with keyledger. Plain Node 20+ and the `pg` package.
//
//   DATABASE_URL=postgres://reader@host/keyledger node audit-verifier.mjs [<position>:<chainHash>]
//   node audit-verifier.mjs --file <export.events.ndjson> [<position>:<chainHash>]
//
// Reads the events table (read only, one consistent snapshot) in chain order — or, with --file,
// an export made with `GET /admin/audit/export?format=events-ndjson` (one event per line, in chain
// order; no database needed) — recomputes
//   chain_0 = 32 zero bytes,  chain_n = SHA-256(chain_{n-1} || canonical bytes of event n)
// and prints the head as `<position>:<chainHash>` (the format of GET /admin/audit/digest's
// `digest`). Given a digest you kept, it also checks that the recomputed chain passes through it.
// Exit status: 0 ok; 1 the digest does not match; 2 usage, file or database error.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const BATCH = 5000;

/** Canonical JSON: members sorted by key (UTF-16 code units), no whitespace, JSON.stringify scalars. */
function canonical(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
}

/** The nine hashed members of an event, as docs/audit.md names them, from a row of the events table. */
function fromRow(row) {
  return {
    eventId: row.event_id,
    metadata: JSON.parse(row.metadata),
    payload: JSON.parse(row.payload),
    position: Number(row.position),
    recordedAt: row.recorded_at,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
  };
}

const MEMBERS = {
  eventId: 'string', metadata: 'object', payload: 'object', position: 'number', recordedAt: 'string',
  schemaVersion: 'number', streamId: 'string', streamVersion: 'number', type: 'string',
};

/** The nine hashed members of an event, from one line of an events-ndjson export (anything else on the line is ignored). */
function fromLine(line, number) {
  let parsed;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`line ${number}: not JSON`);
  }
  const event = {};
  for (const [name, type] of Object.entries(MEMBERS)) {
    const value = parsed?.[name];
    if (typeof value !== type || value === null) throw new Error(`line ${number}: "${name}" must be a ${type}`);
    event[name] = value;
  }
  return event;
}

/** Folds events (in chain order) into the chain, noting its hash at the digest's position. */
class Chain {
  constructor(digest) {
    this.digest = digest;
    this.hash = Buffer.alloc(32);
    this.head = 0;
    this.count = 0;
    this.atDigest = digest && Number(digest[1]) === 0 ? this.hash.toString('hex') : undefined;
  }

  add(event) {
    this.hash = createHash('sha256').update(this.hash).update(Buffer.from(canonical(event), 'utf8')).digest();
    this.head = event.position;
    this.count++;
    if (this.digest && this.head === Number(this.digest[1])) this.atDigest = this.hash.toString('hex');
  }
}

async function fromDatabase(url, chain) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, application_name: 'keyledger-audit-verifier' });
  await client.connect();
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
      for (const row of rows) chain.add(fromRow(row));
      if (rows.length < BATCH) break;
      const last = rows[rows.length - 1];
      after = [last.transaction_id, last.position];
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

async function fromFile(path, chain) {
  let number = 0;
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    number++;
    if (line.trim() !== '') chain.add(fromLine(line, number));
  }
}

async function main() {
  const args = process.argv.slice(2);
  const file = args[0] === '--file' ? args[1] : undefined;
  const rest = file === undefined ? args : args.slice(2);
  const url = process.env.DATABASE_URL;
  const wanted = rest[0];
  const digest = wanted === undefined ? undefined : /^(\d{1,18}):([0-9a-f]{64})$/.exec(wanted.trim());
  if ((file === undefined && (!url || args[0] === '--file')) || rest.length > 1 || (wanted !== undefined && !digest)) {
    console.error('usage: DATABASE_URL=postgres://… node audit-verifier.mjs [<position>:<chainHash>]');
    console.error('       node audit-verifier.mjs --file <export.events.ndjson> [<position>:<chainHash>]');
    return 2;
  }
  const chain = new Chain(digest);
  if (file === undefined) await fromDatabase(url, chain);
  else await fromFile(file, chain);
  console.log(`${chain.head}:${chain.hash.toString('hex')}`);
  console.error(`${chain.count} events`);
  if (!digest) return 0;
  if (chain.atDigest === digest[2]) {
    console.log(`digest ${wanted}: matches`);
    return 0;
  }
  console.log(
    chain.atDigest === undefined
      ? `digest ${wanted}: DOES NOT MATCH (no event at position ${digest[1]} in the chain)`
      : `digest ${wanted}: DOES NOT MATCH (the chain at position ${digest[1]} is ${chain.atDigest})`,
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
