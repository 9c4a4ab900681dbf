// Which files may name the event store's and the read model's tables in SQL (docs/ARCHITECTURE.md,
// "Module map"). Run by `npm run lint`. Comment lines are skipped; migrations/ create the tables and are not checked.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const RULES = [
  {
    table: 'events',
    pattern: /\b(?:FROM|INTO|JOIN|UPDATE|TABLE|COPY)\s+"?events\b/,
    owners: [/^src\/event-store\//],
    // Not yet through the event store's API: remove a line when its file stops naming the table.
    exceptions: {
      'src/audit/queries/chain-verifier.ts': 'recomputes the chain from the stored events',
      'src/console/live-tail.service.ts': 'reads the latest events for the console tail',
    },
  },
  {
    table: 'api_keys',
    pattern: /\bapi_keys\b/,
    // The keys module writes it (its projection) and reads it (queries, repository lookup, expiry sweeper,
    // bootstrap admin); the guard package reads it. Other modules ask the keys module (keyCards, keyName, expiringKeysSource).
    owners: [/^src\/keys\//, /^packages\/nestjs\/src\//],
    exceptions: {
      'src/cli/guard-role/guard-role-sql.ts': "grants the guard's role SELECT on it",
    },
  },
];

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) yield path;
  }
}

const problems = [];
const seen = new Map(RULES.map((rule) => [rule, new Set()]));
for (const file of [...sources('src'), ...sources('packages/nestjs/src')]) {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const rule of RULES) {
    const at = lines.findIndex((line) => !/^\s*(\/\/|\/?\*)/.test(line) && rule.pattern.test(line));
    if (at === -1) continue;
    seen.get(rule).add(file);
    if (!rule.owners.some((owner) => owner.test(file)) && !(file in rule.exceptions)) {
      problems.push(
        `${file}:${at + 1}: names the ${rule.table} table; only ${rule.owners.map(String).join(', ')} may (scripts/check-table-access.mjs)`,
      );
    }
  }
}
for (const rule of RULES) {
  for (const file of Object.keys(rule.exceptions)) {
    if (!seen.get(rule).has(file))
      problems.push(`${file}: no longer names the ${rule.table} table: remove its exception from scripts/check-table-access.mjs`);
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
