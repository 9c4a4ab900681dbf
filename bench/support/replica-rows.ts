import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { KeyReplica, type ReplicaRow } from '@keyledger/nestjs';
import { generateToken, hashToken } from '../../src/token/index.js';

const SCOPES = [
  'customers:read',
  'customers:write',
  'invoices:read',
  'invoices:write',
  'keys:manage',
  'keys:read',
  'orders:read',
  'orders:write',
  'payments:read',
  'payments:write',
  'reports:read',
  'webhooks:manage',
];
const TAG_VALUES: Record<string, readonly string[]> = {
  env: ['production', 'staging', 'development'],
  team: ['payments', 'checkout', 'billing', 'growth', 'platform', 'search', 'mobile', 'partners', 'risk', 'data'],
  region: ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2', 'ap-southeast-1', 'sa-east-1'],
  service: Array.from({ length: 25 }, (_, i) => `service-${String(i + 1).padStart(2, '0')}`),
};
const TAG_NAMES = Object.keys(TAG_VALUES);
const DAY_MS = 86_400_000;

/**
 * node-postgres decodes every field with Buffer#toString, so a real row holds flat strings; string
 * concatenation (generateToken, template literals) makes rope strings that weigh more. Flatten them
 * so the memory bench measures what load() would hold.
 */
export function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

function sample<T>(items: readonly T[], count: number): T[] {
  const copy = [...items];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(Math.random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, count);
}

export interface GeneratedKey {
  row: ReplicaRow;
  /** The plaintext token whose HMAC is the row's secret_hash. */
  token: string;
}

/**
 * Active-key rows shaped like api_keys rows as node-postgres returns them (the replica's input),
 * with real tokens: generateToken, then HMAC-SHA-256 with the pepper, as the create command does.
 * `tenants` distinct tenants (UUIDs), 1–4 sorted scopes out of 12, 0–3 tags out of 4 names, 60 %
 * with an expiry within a year, 5 % rotated with a previous hash in its grace period.
 */
export class ReplicaRowFactory {
  private readonly tenants: string[];

  constructor(
    private readonly pepper: Buffer,
    tenants: number,
    private readonly prefix = 'kl_live',
  ) {
    this.tenants = Array.from({ length: tenants }, () => randomUUID());
  }

  next(now = Date.now()): GeneratedKey {
    const { token, publicId } = generateToken(this.prefix);
    const scopes = sample(SCOPES, 1 + Math.floor(Math.random() * 4)).sort();
    const tags: Record<string, string> = {};
    for (const name of sample(TAG_NAMES, Math.floor(Math.random() * 4)).sort()) tags[name] = pick(TAG_VALUES[name]);
    const rotated = Math.random() < 0.05;
    const row: ReplicaRow = {
      key_id: flat(randomUUID()), // randomUUID builds its result by concatenation
      public_id: flat(publicId),
      tenant_id: flat(pick(this.tenants)),
      scopes: JSON.stringify(scopes),
      tags: JSON.stringify(tags),
      status: 'active',
      secret_hash: hashToken(token, this.pepper).toString('hex'),
      previous_secret_hash: rotated ? hashToken(generateToken(this.prefix, publicId).token, this.pepper).toString('hex') : null,
      grace_ends_at: rotated ? now + DAY_MS : null,
      expires_at: Math.random() < 0.6 ? now + Math.ceil(Math.random() * 365) * DAY_MS : null,
      version: rotated ? 2 : 1,
    };
    return { row, token };
  }
}

/** A replica that is only ever fed with apply() and asked to verify(): neither touches the pool. */
export function memoryOnlyReplica(pepper: Buffer): KeyReplica {
  return new KeyReplica(null as unknown as Pool, pepper);
}
