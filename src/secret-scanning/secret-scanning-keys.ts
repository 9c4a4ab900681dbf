import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Logger } from '@nestjs/common';

/**
 * GitHub's secret-scanning public keys, from the file `SECRET_SCANNING_KEYS_FILE` in the format
 * GitHub publishes them (`https://api.github.com/meta/public_keys/secret_scanning`):
 * `{ "public_keys": [{ "key_identifier", "key" (PEM), "is_current" }] }`. Every listed key is
 * accepted (GitHub signs with the older key for a while after it rotates). The file is read again
 * when it changes (checked before each report: size, mtime and inode, so a `mv` into place counts),
 * so a cron job refreshing it needs no restart; a refreshed file that does not parse is logged and
 * the keys read before stay in use.
 */
export class SecretScanningKeys {
  private readonly logger = new Logger('SecretScanning');
  private keys = new Map<string, KeyObject>();
  private stamp: string | undefined;

  constructor(readonly file: string | undefined) {}

  /** At start-up: a file that is set but missing or malformed stops the start, with its problem. */
  async load(): Promise<void> {
    if (this.file === undefined) return;
    try {
      this.stamp = await stampOf(this.file);
      this.keys = parseKeysFile(await readFile(this.file, 'utf8'));
    } catch (error) {
      throw new Error(`SECRET_SCANNING_KEYS_FILE ${this.file}: ${problemOf(error)}`, { cause: error });
    }
  }

  get configured(): boolean {
    return this.file !== undefined;
  }

  /** The public key with this identifier, after reading the file again if it changed. */
  async get(identifier: string): Promise<KeyObject | undefined> {
    if (this.file !== undefined) await this.reloadIfChanged(this.file);
    return this.keys.get(identifier);
  }

  private async reloadIfChanged(file: string): Promise<void> {
    const stamp = await stampOf(file).catch(() => 'unreadable');
    if (stamp === this.stamp) return;
    this.stamp = stamp; // one attempt (and one log line) per change
    try {
      this.keys = parseKeysFile(await readFile(file, 'utf8'));
      this.logger.log(`read ${this.keys.size} secret-scanning public key(s) from ${file}`);
    } catch (error) {
      this.logger.warn(`${file} changed but cannot be used (${problemOf(error)}); keeping the keys read before`);
    }
  }
}

/** A file system error by its code (`cannot be read (ENOENT)`), a parse error by its message. */
function problemOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return `cannot be read (${code})`;
  return error instanceof Error ? error.message : String(error);
}

async function stampOf(file: string): Promise<string> {
  const { size, mtimeMs, ino } = await stat(file);
  return `${size}:${mtimeMs}:${ino}`;
}

/** GitHub's JSON to key objects; only ECDSA P-256 keys, which is what GitHub signs with. */
export function parseKeysFile(text: string): Map<string, KeyObject> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('is not JSON');
  }
  const list = (parsed as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list) || list.length === 0) throw new Error('has no "public_keys" array, or it is empty');
  const keys = new Map<string, KeyObject>();
  for (const [i, entry] of list.entries()) {
    const { key_identifier: id, key: pem } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof id !== 'string' || !/^[0-9A-Za-z_-]{1,256}$/.test(id)) {
      throw new Error(`public_keys[${i}].key_identifier must be a string of letters, digits, "_" or "-"`);
    }
    if (typeof pem !== 'string') throw new Error(`public_keys[${i}].key must be a PEM public key`);
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new Error(`public_keys[${i}].key is not a PEM public key`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`public_keys[${i}].key must be an ECDSA P-256 key`);
    }
    keys.set(id, key);
  }
  return keys;
}
