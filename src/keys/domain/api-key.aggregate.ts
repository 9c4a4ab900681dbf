import { FieldError, ValidationError } from '../../common/index.js';
import { isStorableText, UNSTORABLE_TEXT } from '@keyledger/nestjs';
import { KeyExpiryNotDueError, KeyHistoryUnreadableError, KeyInactiveError } from './api-key.errors.js';
import { KeyCreated } from './events/key-created.event.js';
import { KeyExpired, type InactivityEvidence, type KeyExpiryReason } from './events/key-expired.event.js';
import { KeyRevoked } from './events/key-revoked.event.js';
import { KeyRotated } from './events/key-rotated.event.js';
import { KeyUpdated, KeyUpdatedChanges } from './events/key-updated.event.js';
import { isReasonCode, REASON_CODES, reasonCodeOf, type ReasonCode } from './reason-code.js';
import type { KeyEvent, StoredKeyEvent, UnreadableKeyEvent } from './key-events.js';
import { assertGrantable, normalizeScopes } from '../../token/index.js';
import { generateToken, hashToken, isValidTokenPrefix, MAX_PREFIX_LENGTH, TOKEN_PREFIX_PATTERN } from '../../token/index.js';

export type KeyStatus = 'active' | 'expired' | 'revoked';
export type KeyTags = Readonly<Record<string, string>>;

export interface CreateKeyInput {
  keyId: string;
  tenantId: string;
  name: string;
  scopes?: readonly string[];
  tags?: KeyTags;
  expiresAt?: Date | null;
  prefix: string;
  /** The acting principal's scopes: every requested scope must be covered. Omit only for system/CLI actors. */
  grantorScopes?: readonly string[];
}

export interface RotateKeyInput {
  gracePeriodSeconds?: number;
  /** undefined keeps the current expiry, null removes it. */
  expiresAt?: Date | null;
}

/** undefined leaves a field as is; `tags` replaces the whole map; `expiresAt: null` removes the expiry. */
export interface UpdateKeyInput {
  name?: string;
  scopes?: readonly string[];
  tags?: KeyTags;
  expiresAt?: Date | null;
  /** As in CreateKeyInput; only scopes the update adds must be covered. */
  grantorScopes?: readonly string[];
}

/** A revocation's structured reason; the free-text `reason` stays alongside. */
export interface RevokeDetails {
  /** Defaults to `other`. */
  reasonCode?: ReasonCode;
  /** Where a leaked secret was found (a secret-scanning report's URL). */
  sourceUrl?: string;
}

export const MAX_SOURCE_URL_LENGTH = 2048;
export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 60 * 60; // 2,592,000
export const MAX_NAME_LENGTH = 128;
export const MAX_TAGS = 32;
export const MAX_TAG_KEY_LENGTH = 64;
export const MAX_TAG_VALUE_LENGTH = 256;
export const MAX_REVOKE_REASON_LENGTH = 512;
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
// Lower-case canonical form only, so one key never has two spellings of its stream id.
const KEY_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface KeyState {
  keyId: string;
  publicId: string;
  prefix: string;
  tenantId: string;
  name: string;
  scopes: readonly string[];
  tags: KeyTags;
  expiresAt: number | null;
  status: KeyStatus;
  secretHash: string;
  previousSecretHash: string | null;
  graceEndsAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** The last rotation; null if never rotated. */
  rotatedAt: number | null;
  /** Set by KeyExpired (`ttl`, `manual`) or KeyRevoked (the free text); null while active. */
  statusReason: string | null;
  reasonCode: ReasonCode | null;
}

/** One key's event stream. State changes only through apply(), for replayed and new events alike. */
export class ApiKey {
  private state: KeyState | undefined;
  private pending: KeyEvent[] = [];
  private applied = 0;
  private readonly unreadable: { version: number; event: UnreadableKeyEvent }[] = [];

  private constructor() {}

  static create(input: CreateKeyInput, now: Date, pepper?: Buffer): { key: ApiKey; token: string } {
    const valid = validated({
      keyId: () => checkKeyId(input.keyId),
      tenantId: () => checkTenantId(input.tenantId),
      name: () => normalizeName(input.name),
      scopes: () => normalizeScopes(input.scopes ?? []),
      tags: () => normalizeTags(input.tags ?? {}),
      expiresAt: () => checkExpiresAt(input.expiresAt ?? null, now),
      prefix: () => checkPrefix(input.prefix),
    });
    if (input.grantorScopes !== undefined) assertGrantable(input.grantorScopes, valid.scopes);

    const { token, publicId } = generateToken(valid.prefix);
    const key = new ApiKey();
    key.record(
      new KeyCreated({
        keyId: valid.keyId,
        publicId,
        prefix: valid.prefix,
        tenantId: valid.tenantId,
        name: valid.name,
        scopes: valid.scopes,
        tags: valid.tags,
        expiresAt: iso(valid.expiresAt),
        secretHash: hashToken(token, pepper).toString('hex'),
        occurredAt: now.toISOString(),
      }),
    );
    return { key, token };
  }

  /**
   * Rebuilds a key from its stored stream; a stream that does not start with KeyCreated is corrupt.
   * An event this code cannot read keeps its place (it counts toward the version) but changes no
   * state: see unreadableEvents.
   */
  static fromEvents(events: readonly StoredKeyEvent[]): ApiKey {
    const key = new ApiKey();
    for (const event of events) {
      if (event.type === 'unreadable') {
        key.current(); // a stream must still start with a readable KeyCreated
        key.unreadable.push({ version: ++key.applied, event });
      } else {
        key.apply(event);
      }
    }
    key.current(); // throws on an empty stream
    return key;
  }

  /** Stored events of this key that this code cannot read, with their stream versions. */
  get unreadableEvents(): readonly { version: number; event: UnreadableKeyEvent }[] {
    return this.unreadable;
  }

  /** Events applied, uncommitted ones included: the stream version after they are appended. */
  get version(): number {
    return this.applied;
  }

  /** Returns the uncommitted events and forgets them: the caller appends them to the store. */
  pullPendingEvents(): KeyEvent[] {
    const events = this.pending;
    this.pending = [];
    return events;
  }

  get keyId(): string {
    return this.current().keyId;
  }
  get publicId(): string {
    return this.current().publicId;
  }
  get prefix(): string {
    return this.current().prefix;
  }
  get tenantId(): string {
    return this.current().tenantId;
  }
  get name(): string {
    return this.current().name;
  }
  get scopes(): readonly string[] {
    return this.current().scopes;
  }
  get tags(): KeyTags {
    return this.current().tags;
  }
  get expiresAt(): Date | null {
    return toDate(this.current().expiresAt);
  }
  /** The recorded status; use statusAt(now) for what the guard sees. */
  get status(): KeyStatus {
    return this.current().status;
  }
  get secretHash(): string {
    return this.current().secretHash;
  }
  /** The secret before the last rotation; it still works only while now < graceEndsAt. */
  get previousSecretHash(): string | null {
    return this.current().previousSecretHash;
  }
  get graceEndsAt(): Date | null {
    return toDate(this.current().graceEndsAt);
  }
  get createdAt(): Date {
    return new Date(this.current().createdAt);
  }
  get updatedAt(): Date {
    return new Date(this.current().updatedAt);
  }
  /** When the secret was last rotated; null if never. */
  get lastRotatedAt(): Date | null {
    return toDate(this.current().rotatedAt);
  }
  /** When the current secret was issued: its last rotation, else the key's creation. */
  get secretIssuedAt(): Date {
    const { rotatedAt, createdAt } = this.current();
    return new Date(rotatedAt ?? createdAt);
  }
  /** Why the key was expired (`ttl`, `manual`) or revoked (the free text); null while active. */
  get statusReason(): string | null {
    return this.current().statusReason;
  }
  /** The revocation's or expiry's reason code (`other` for events written before codes); null while active. */
  get reasonCode(): ReasonCode | null {
    return this.current().reasonCode;
  }

  /** A key is expired the instant its expiresAt passes, before any KeyExpired is written. */
  statusAt(now: Date): KeyStatus {
    const { status, expiresAt } = this.current();
    return status === 'active' && expiresAt !== null && expiresAt <= now.getTime() ? 'expired' : status;
  }

  /**
   * New secret, same publicId, prefix, scopes and tags. Rotating again during a grace period ends
   * the older secret at once: only the current and the immediately previous secret are ever kept.
   */
  rotate({ gracePeriodSeconds = 0, expiresAt }: RotateKeyInput, now: Date, pepper?: Buffer): { token: string } {
    const state = this.assertActive(now);
    this.assertReadable();
    const valid = validated({
      grace: () => checkGracePeriod(gracePeriodSeconds),
      expiresAt: () => (expiresAt === undefined ? state.expiresAt : checkExpiresAt(expiresAt, now)),
    });
    const { token } = generateToken(state.prefix, state.publicId);
    this.record(
      new KeyRotated({
        secretHash: hashToken(token, pepper).toString('hex'),
        previousSecretHash: state.secretHash,
        graceEndsAt: valid.grace === 0 ? null : new Date(now.getTime() + valid.grace * 1000).toISOString(),
        expiresAt: iso(valid.expiresAt),
        occurredAt: now.toISOString(),
      }),
    );
    return { token };
  }

  /**
   * `ttl` is the sweeper's: allowed only once expiresAt has passed; `manual` only before;
   * `inactive` (the sweeper's too) only before, and only with the last use it was decided on.
   * The reason code defaults to `unused` for an inactive expiry, `other` otherwise.
   */
  expire(
    reason: KeyExpiryReason,
    now: Date,
    { reasonCode, evidence }: { reasonCode?: ReasonCode; evidence?: InactivityEvidence } = {},
  ): void {
    if (reason === 'ttl') {
      const state = this.current();
      if (state.status !== 'active') throw KeyInactiveError.forKey(state.keyId, state.status);
      if (this.statusAt(now) !== 'expired') throw KeyExpiryNotDueError.forKey(state.keyId, toDate(state.expiresAt));
    } else if (reason === 'manual' || reason === 'inactive') {
      this.assertActive(now);
    } else {
      throw ValidationError.field('reason', "must be 'ttl', 'manual' or 'inactive'");
    }
    if ((reason === 'inactive') !== (evidence !== undefined)) throw new Error('an inactive expiry, and only that, carries its evidence');
    const valid = validated({ reasonCode: () => checkReasonCode(reasonCode ?? (reason === 'inactive' ? 'unused' : undefined)) });
    const decided = evidence && { lastUsedAt: evidence.lastUsedAt, inactiveAfterDays: evidence.inactiveAfterDays };
    this.record(new KeyExpired({ reason, ...valid, ...decided, occurredAt: now.toISOString() }));
  }

  revoke(reason: string | null, now: Date, { reasonCode, sourceUrl }: RevokeDetails = {}): void {
    this.assertActive(now);
    const valid = validated({
      reason: () => normalizeRevokeReason(reason),
      reasonCode: () => checkReasonCode(reasonCode),
      sourceUrl: () => checkSourceUrl(sourceUrl),
    });
    this.record(
      new KeyRevoked({
        reason: valid.reason,
        reasonCode: valid.reasonCode,
        ...(valid.sourceUrl === undefined ? {} : { sourceUrl: valid.sourceUrl }),
        occurredAt: now.toISOString(),
      }),
    );
  }

  /** Returns false, and records nothing, when no field actually changes. */
  update(input: UpdateKeyInput, now: Date): boolean {
    const state = this.assertActive(now);
    this.assertReadable();
    const valid = validated({
      name: () => (input.name === undefined ? state.name : normalizeName(input.name)),
      scopes: () => (input.scopes === undefined ? state.scopes : normalizeScopes(input.scopes)),
      tags: () => (input.tags === undefined ? state.tags : normalizeTags(input.tags)),
      expiresAt: () => (input.expiresAt === undefined ? state.expiresAt : checkExpiresAt(input.expiresAt, now)),
    });

    const changes: { -readonly [K in keyof KeyUpdatedChanges]: KeyUpdatedChanges[K] } = {};
    if (valid.name !== state.name) changes.name = { from: state.name, to: valid.name };
    if (!sameList(valid.scopes, state.scopes)) changes.scopes = { from: state.scopes, to: valid.scopes };
    if (!sameTags(valid.tags, state.tags)) changes.tags = { from: state.tags, to: valid.tags };
    if (valid.expiresAt !== state.expiresAt) changes.expiresAt = { from: iso(state.expiresAt), to: iso(valid.expiresAt) };
    if (Object.keys(changes).length === 0) return false;

    if (changes.scopes && input.grantorScopes !== undefined) {
      // Removing a scope never widens access, so only the added ones need cover.
      assertGrantable(
        input.grantorScopes,
        valid.scopes.filter((scope) => !state.scopes.includes(scope)),
      );
    }
    this.record(new KeyUpdated({ changes, occurredAt: now.toISOString() }));
    return true;
  }

  private record(event: KeyEvent): void {
    this.apply(event);
    this.pending.push(event);
  }

  private apply(event: KeyEvent): void {
    switch (event.type) {
      case KeyCreated.type: {
        if (this.state !== undefined) throw new Error(`Key ${this.state.keyId} has a second ${KeyCreated.type}`);
        const p = event.payload;
        const at = Date.parse(p.occurredAt);
        // Field by field, so nothing but the known payload fields reaches the state.
        this.state = {
          keyId: p.keyId,
          publicId: p.publicId,
          prefix: p.prefix,
          tenantId: p.tenantId,
          name: p.name,
          scopes: Object.freeze([...p.scopes]),
          tags: Object.freeze({ ...p.tags }),
          expiresAt: fromIso(p.expiresAt),
          secretHash: p.secretHash,
          status: 'active',
          previousSecretHash: null,
          graceEndsAt: null,
          createdAt: at,
          updatedAt: at,
          rotatedAt: null,
          statusReason: null,
          reasonCode: null,
        };
        break;
      }
      case KeyRotated.type:
        this.change(event, {
          secretHash: event.payload.secretHash,
          previousSecretHash: event.payload.previousSecretHash,
          graceEndsAt: fromIso(event.payload.graceEndsAt),
          expiresAt: fromIso(event.payload.expiresAt),
          rotatedAt: Date.parse(event.payload.occurredAt),
        });
        break;
      case KeyExpired.type:
        this.change(event, { status: 'expired', statusReason: event.payload.reason, reasonCode: reasonCodeOf(event.payload) });
        break;
      case KeyRevoked.type:
        this.change(event, { status: 'revoked', statusReason: event.payload.reason, reasonCode: reasonCodeOf(event.payload) });
        break;
      case KeyUpdated.type: {
        const { name, scopes, tags, expiresAt } = event.payload.changes;
        this.change(event, {
          ...(name && { name: name.to }),
          ...(scopes && { scopes: Object.freeze([...scopes.to]) }),
          ...(tags && { tags: Object.freeze({ ...tags.to }) }),
          ...(expiresAt && { expiresAt: fromIso(expiresAt.to) }),
        });
        break;
      }
      default: {
        const unhandled: never = event;
        throw new Error(`Unhandled key event ${JSON.stringify(unhandled)}`);
      }
    }
    this.applied++;
  }

  private change(event: KeyEvent, changes: Partial<KeyState>): void {
    if (this.state === undefined) throw new Error(`Key stream must start with ${KeyCreated.type}, got ${event.type}`);
    Object.assign(this.state, changes, { updatedAt: Date.parse(event.payload.occurredAt) });
  }

  private current(): KeyState {
    if (this.state === undefined) throw new Error('ApiKey has no events: a key stream starts with KeyCreated');
    return this.state;
  }

  /**
   * Revoke and expire only take access away, so they work whatever the stream holds: revocation is
   * the emergency brake. Rotate and update build on a state that an unreadable event may have
   * changed in ways this code cannot know, so they wait for a version that reads it.
   */
  private assertReadable(): void {
    const first = this.unreadable[0];
    if (first !== undefined) throw KeyHistoryUnreadableError.forKey(this.current().keyId, first.version, first.event.problem);
  }

  private assertActive(now: Date): KeyState {
    const state = this.current();
    const status = this.statusAt(now);
    if (status !== 'active') throw KeyInactiveError.forKey(state.keyId, status);
    return state;
  }
}

/** Runs every check and reports all failing fields at once, so a client fixes its request in one round. */
function validated<T extends Record<string, () => unknown>>(checks: T): { [K in keyof T]: ReturnType<T[K]> } {
  const values: Record<string, unknown> = {};
  const details: FieldError[] = [];
  for (const [field, check] of Object.entries(checks)) {
    try {
      values[field] = check();
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      details.push(...(error.details ?? []));
    }
  }
  if (details.length > 0) throw ValidationError.of(details);
  return values as { [K in keyof T]: ReturnType<T[K]> };
}

// Code points, not UTF-16 units: matches what PostgreSQL's varchar(n) counts.
function length(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function checkKeyId(keyId: string): string {
  if (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId)) throw ValidationError.field('keyId', 'must be a lower-case UUID');
  return keyId;
}

function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !isValidTokenPrefix(prefix)) {
    throw ValidationError.field('prefix', `must match ${TOKEN_PREFIX_PATTERN.source}, at most ${MAX_PREFIX_LENGTH} characters`);
  }
  return prefix;
}

function checkTenantId(tenantId: string): string {
  if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) {
    throw ValidationError.field('tenantId', 'must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"');
  }
  return tenantId;
}

function normalizeName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (!isStorableText(trimmed)) throw ValidationError.field('name', UNSTORABLE_TEXT);
  const n = length(trimmed);
  if (n < 1 || n > MAX_NAME_LENGTH) throw ValidationError.field('name', `must be 1-${MAX_NAME_LENGTH} characters after trimming`);
  return trimmed;
}

/** Keys sorted, so equal maps compare (and event) equal whatever order the client sent. */
function normalizeTags(tags: KeyTags): KeyTags {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    throw ValidationError.field('tags', 'must be an object of string values');
  }
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > MAX_TAGS) throw ValidationError.field('tags', `at most ${MAX_TAGS} tags, got ${entries.length}`);
  // Messages say which rule a tag breaks, never what the tag was.
  for (const [key, value] of entries) {
    const n = length(key);
    if (n < 1 || n > MAX_TAG_KEY_LENGTH) throw ValidationError.field('tags', `every tag key must be 1-${MAX_TAG_KEY_LENGTH} characters`);
    if (!isStorableText(key)) throw ValidationError.field('tags', `tag keys ${UNSTORABLE_TEXT}`);
    if (typeof value !== 'string') throw ValidationError.field('tags', 'every tag must have a string value');
    if (!isStorableText(value)) throw ValidationError.field('tags', `tag values ${UNSTORABLE_TEXT}`);
    if (length(value) > MAX_TAG_VALUE_LENGTH) {
      throw ValidationError.field('tags', `every tag value must be at most ${MAX_TAG_VALUE_LENGTH} characters`);
    }
  }
  // fromEntries defines properties, so a `__proto__` key stays an ordinary tag.
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as KeyTags;
}

function checkExpiresAt(expiresAt: Date | null, now: Date): number | null {
  if (expiresAt === null) return null;
  const at = expiresAt instanceof Date ? expiresAt.getTime() : NaN;
  if (Number.isNaN(at)) throw ValidationError.field('expiresAt', 'must be a valid date');
  if (at <= now.getTime()) throw ValidationError.field('expiresAt', 'must be in the future');
  return at;
}

function checkGracePeriod(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_GRACE_PERIOD_SECONDS) {
    throw ValidationError.field('gracePeriodSeconds', `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS} (30 days)`);
  }
  return seconds;
}

function normalizeRevokeReason(reason: string | null): string | null {
  if (reason === null) return null;
  if (typeof reason !== 'string') throw ValidationError.field('reason', 'must be a string or null');
  const trimmed = reason.trim();
  if (!isStorableText(trimmed)) throw ValidationError.field('reason', UNSTORABLE_TEXT);
  if (length(trimmed) > MAX_REVOKE_REASON_LENGTH) {
    throw ValidationError.field('reason', `must be at most ${MAX_REVOKE_REASON_LENGTH} characters`);
  }
  return trimmed === '' ? null : trimmed;
}

function checkReasonCode(code: ReasonCode | undefined): ReasonCode {
  if (code === undefined) return 'other';
  if (!isReasonCode(code)) throw ValidationError.field('reasonCode', `must be one of ${REASON_CODES.join(', ')}`);
  return code;
}

/** An absolute http(s) URL, kept as given (the scanning service's link to where the secret was found). */
function checkSourceUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  if (
    typeof url !== 'string' ||
    !isStorableText(url) ||
    length(url) > MAX_SOURCE_URL_LENGTH ||
    !/^https?:\/\/\S+$/i.test(url) ||
    !URL.canParse(url)
  ) {
    throw ValidationError.field('sourceUrl', `must be an absolute http(s) URL of at most ${MAX_SOURCE_URL_LENGTH} characters`);
  }
  return url;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

// Both sides are normalized (sorted keys), so comparing entries in order is enough.
function sameTags(a: KeyTags, b: KeyTags): boolean {
  const ea = Object.entries(a);
  const eb = Object.entries(b);
  return ea.length === eb.length && ea.every(([k, v], i) => k === eb[i]?.[0] && v === eb[i][1]);
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function fromIso(text: string | null): number | null {
  return text === null ? null : Date.parse(text);
}

function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
