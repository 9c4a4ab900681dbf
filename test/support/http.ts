import type { Response } from 'supertest';

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });

/** Asserts keyledger's one error shape, `{ statusCode, code, message, details? }`, with a message a person can act on. */
export function expectErrorShape(res: Response, status: number, code?: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as Record<string, unknown>;
  for (const key of Object.keys(body)) expect(['statusCode', 'code', 'message', 'details']).toContain(key);
  expect(body.statusCode).toBe(status);
  expect(typeof body.code).toBe('string');
  if (code !== undefined) expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(10);
  expect(body.message).not.toMatch(/\bat .+\.(?:js|ts):\d+|undefined|\[object Object\]/);
}

/** A validation error: 400, code VALIDATION, and `details` naming each of `fields`. */
export function expectValidationError(res: Response, ...fields: string[]): void {
  expectErrorShape(res, 400, 'VALIDATION');
  const details = res.body.details as { field: string; message: string }[];
  expect(Array.isArray(details)).toBe(true);
  expect(details.length).toBeGreaterThan(0);
  for (const detail of details) {
    expect(typeof detail.field).toBe('string');
    expect(typeof detail.message).toBe('string');
    expect(detail.message.length).toBeGreaterThan(0);
  }
  for (const field of fields) expect(details.map((d) => d.field)).toContain(field);
}
