// Builds the console (console/src) into dist/console with esbuild: hashed asset names (served as
// immutable), an index.html that loads them, .br/.gz siblings for the server to send, and the
// first-load JavaScript size checked against its budget. `npm run build` runs it after tsc.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const outDir = join(root, 'dist', 'console');
// Built beside the target and swapped in, so a server or a concurrent build never sees half a console.
const tmpDir = join(root, 'dist', `.console-${process.pid}`);
const assetsDir = join(tmpDir, 'assets');
const BUDGET_BYTES = 150 * 1024;

rmSync(tmpDir, { recursive: true, force: true });
mkdirSync(assetsDir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: 'console/src/main.tsx' },
  outdir: assetsDir,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((path) => path.split('/').pop());
const js = outputs.filter((name) => name.endsWith('.js'));
const css = outputs.filter((name) => name.endsWith('.css'));
if (js.length !== 1 || css.length !== 1) throw new Error(`expected one JS and one CSS bundle, got ${outputs.join(', ')}`);

const faviconSource = join(root, 'console', 'src', 'favicon.svg');
const favicon = `favicon-${createHash('sha256').update(readFileSync(faviconSource)).digest('hex').slice(0, 8)}.svg`;
copyFileSync(faviconSource, join(assetsDir, favicon));

const html = readFileSync(join(root, 'console', 'index.html'), 'utf8')
  .replace('%JS%', js[0])
  .replace('%CSS%', css[0])
  .replace('%FAVICON%', favicon);
writeFileSync(join(tmpDir, 'index.html'), html);

const gzip = (buffer) => gzipSync(buffer, { level: 9 });
const precompress = (path) => {
  const body = readFileSync(path);
  const gz = gzip(body);
  const br = brotliCompressSync(body, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
  });
  if (gz.length < body.length) writeFileSync(`${path}.gz`, gz);
  if (br.length < body.length) writeFileSync(`${path}.br`, br);
  return { bytes: body.length, gzipBytes: gz.length, brotliBytes: br.length };
};

const files = {};
for (const name of readdirSync(assetsDir)) files[`assets/${name}`] = precompress(join(assetsDir, name));
files['index.html'] = precompress(join(tmpDir, 'index.html'));

// First load = every script index.html loads (one bundle, no lazy chunks), gzipped.
const firstLoadJsGzipBytes = js.reduce((sum, name) => sum + files[`assets/${name}`].gzipBytes, 0);
const report = { firstLoadJsGzipBytes, budgetBytes: BUDGET_BYTES, files };
writeFileSync(join(tmpDir, 'build-report.json'), `${JSON.stringify(report, null, 2)}\n`);

for (let attempt = 1; ; attempt++) {
  try {
    rmSync(outDir, { recursive: true, force: true });
    renameSync(tmpDir, outDir);
    break;
  } catch (error) {
    if (attempt >= 5) throw error; // another build swapped its copy in at the same moment: try again
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
  }
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(
  `console: first load ${kb(firstLoadJsGzipBytes)} of JavaScript gzipped (budget ${kb(BUDGET_BYTES)}); ` +
    `${js[0]} ${kb(files[`assets/${js[0]}`].bytes)}, ${css[0]} ${kb(files[`assets/${css[0]}`].gzipBytes)} gzipped`,
);
if (firstLoadJsGzipBytes > BUDGET_BYTES) {
  console.error(`console: the first-load JavaScript is over its ${kb(BUDGET_BYTES)} budget`);
  process.exit(1);
}
