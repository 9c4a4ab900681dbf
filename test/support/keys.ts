import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { bearer } from './http.js';
import { issueKey, type TestApp } from './test-app.js';

/** Files share one database and run in parallel: every test works in tenants of its own. */
export const uniqueTenant = (prefix = 't'): string => `${prefix}-${randomUUID()}`;

export interface IssuedKey {
  id: string;
  publicId: string;
  token: string;
}

/**
 * Issues a key through the command bus as the system actor and asserts that `on` (default: the
 * issuing app) accepts it at its first request: the issuing app applied it before answering, any
 * other instance looks it up at first use (docs/guard.md). No polling: a key that needs a retry is
 * a defect a user would meet. `secrets` (a test file's record of plaintexts) is given the token.
 */
export async function issueUsableKey(
  sut: TestApp,
  input: Parameters<typeof issueKey>[1] = {},
  { on = sut, secrets }: { on?: TestApp; secrets?: { add(token: string): unknown } } = {},
): Promise<IssuedKey> {
  const key = await issueKey(sut.app, input);
  secrets?.add(key.token);
  await request(on.url).get('/examples/whoami').set(bearer(key.token)).expect(200);
  return key;
}

/**
 * A key view as a command answers it: GET one and the list add the key's last use (null until it
 * is used and flushed; docs/api.md), a command's answer does not.
 */
export function asReadView(commandAnswer: Record<string, unknown>): Record<string, unknown> {
  return { ...commandAnswer, lastUsedAt: null, lastUsedIp: null, lastUsedUserAgent: null };
}
