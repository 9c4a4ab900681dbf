import { canonicalJson } from './audit-chain.js';

/** The definition in docs/audit.md, written plainly: what the fast canonicalJson must equal. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${reference(record[k])}`);
  return `{${members.join(',')}}`;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [
  'a',
  'B',
  'z',
  '0',
  '9',
  '_',
  '-',
  ' ',
  '"',
  '\\',
  '\n',
  '\t',
  '\u0001',
  '\u007f',
  'é',
  'ß',
  '€',
  '😀',
  '\ud800',
  'Ω',
  '10',
  '2',
  '',
];

function text(next: () => number): string {
  let s = '';
  const length = Math.floor(next() * 6);
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

function value(next: () => number, depth: number): unknown {
  const kind = Math.floor(next() * (depth > 3 ? 5 : 8));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return [0, -0, 1.5, -3e21, 1e-7, 2 ** 53 + 2, 123456789][Math.floor(next() * 7)];
    case 3:
      return text(next);
    case 4:
      return undefined;
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      const size = Math.floor(next() * 9);
      for (let i = 0; i < size; i++) object[text(next)] = value(next, depth + 1);
      return object;
    }
  }
}

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units, integer-like keys included, and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: [3, undefined, { d: null, c: 'x' }], 10: true, 9: false, é: 'é', z: undefined })).toBe(
      '{"10":true,"9":false,"a":[3,null,{"c":"x","d":null}],"b":1,"é":"é"}',
    );
  });

  it('escapes strings exactly as JSON.stringify does', () => {
    for (const s of ['plain', 'quote " here', 'back\\slash', 'line\nbreak', '\u0000\u001f', '\u007f', 'ünï', '\ud83d', '😀']) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
      expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
    }
  });

  it('equals the plain definition on 20,000 random documents', () => {
    const next = random(20261202);
    for (let i = 0; i < 20_000; i++) {
      const doc = value(next, 0);
      expect(canonicalJson(doc)).toBe(reference(doc));
    }
  });
});
