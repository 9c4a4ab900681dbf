// Builds the package: ES modules with declarations (tsc), and the repository's LICENSE beside them.
// ES modules only, as Nest 12 itself ships: CommonJS apps require() it (require(esm), Node ≥ 20.19),
// and one copy of the code means one copy of every class Nest uses as a DI token.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
copyFileSync(join(root, '..', '..', 'LICENSE'), join(root, 'LICENSE'));
