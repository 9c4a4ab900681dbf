import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The server-side secret mixed into every key hash (HMAC-SHA-256). KEY_PEPPER in production;
 * for local runs one is generated once and kept under DATA_DIR (mode 0600), so keys survive restarts.
 */
export async function loadKeyPepper(configured: string | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = join(dataDir, 'key-pepper');
  if (existsSync(file)) return Buffer.from((await readFile(file, 'utf8')).trim(), 'utf8');
  const pepper = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, pepper, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error; // another instance won the race: use its pepper
  });
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'utf8');
}
