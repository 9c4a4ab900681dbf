/**
 * What PostgreSQL cannot store: `text` refuses NUL, and `jsonb` refuses NUL and an unpaired UTF-16
 * surrogate (JSON.stringify writes one as a `\ud800` escape, which jsonb rejects). Such a string
 * reaching a query is a 500, so every input is checked before it gets there.
 */
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT = 'must not contain NUL characters or unpaired UTF-16 surrogates';

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** For text the server records about a request (a route parameter in a log or an access record): never refused, made storable. */
export function storableText(text: string, maxLength: number): string {
  // eslint-disable-next-line no-control-regex -- as above
  const clean = isStorableText(text) ? text : text.replace(/\u0000|[\ud800-\udfff]/g, '\ufffd');
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}
