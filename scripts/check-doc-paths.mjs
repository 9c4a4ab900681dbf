#!/usr/bin/env node
/*
 * Every file path a doc names exists: a doc that points to a moved or deleted file fails the lint.
 * Scans README.md and docs/**.md for paths such as `src/keys/key-repository.ts`,
 * `packages/nestjs/src/token.ts` or, as ARCHITECTURE.md writes them, module-relative
 * `event-store/table-swap.ts`; a path counts as found at the repository root, under src/, under
 * packages/nestjs/ or packages/nestjs/src/, or beside the doc. URLs, build output (dist/) and
 * npm packages' own files (`@noble/hashes/hmac.js`), placeholders (`DATA_DIR/…`) and
 * docs/performance-log.md (a dated diary: its paths are as they were that day) are not checked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP_DOCS = new Set(['docs/performance-log.md']);
const BASES = ['', 'src', 'packages/nestjs', 'packages/nestjs/src'];
const PATH = /(?<![\w./:@-])((?:[\w@.-]+\/)+[\w.-]+\.(?:ts|mts|mjs|cjs|js|json|md|sql|yml|yaml))(?![\w/])/g;

function docs(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return docs(path);
    return entry.name.endsWith('.md') && !SKIP_DOCS.has(path) ? [path] : [];
  });
}

const missing = [];
for (const doc of ['README.md', ...docs('docs')]) {
  const lines = readFileSync(join(root, doc), 'utf8').split('\n');
  lines.forEach((line, i) => {
    const text = line.replace(/\bhttps?:\/\/\S+/g, '');
    for (const [, path] of text.matchAll(PATH)) {
      // Build output, an npm package's own files (@scope/…), a placeholder (DATA_DIR/…).
      if (/^(dist\/|node_modules\/|\.|@)/.test(path) || /^[A-Z_]+\//.test(path)) continue;
      const found = [...BASES.map((base) => join(root, base, path)), join(root, dirname(doc), path)].some((p) => existsSync(p));
      if (!found) missing.push(`${doc}:${i + 1}: ${path}`);
    }
  });
}

if (missing.length > 0) {
  console.error(`${missing.length} path(s) in the docs name no file (moved or deleted? fix the doc):`);
  for (const m of missing) console.error(`  ${m}`);
  process.exit(1);
}
console.log(`✔ every file path in the docs exists (${relative(process.cwd(), root) || '.'})`);
