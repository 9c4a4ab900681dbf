import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOKEN_PREFIX, generateToken, TEST_TOKEN_PREFIX, TOKEN_SCANNER_REGEX } from './token.js';

/** The rules as docs/security.md publishes them: read from the file, so the doc cannot drift. */
const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'security.md'), 'utf8');

function published(pattern: RegExp, what: string): string {
  const found = pattern.exec(doc)?.[1];
  if (found === undefined) throw new Error(`docs/security.md no longer publishes ${what}`);
  return found.replaceAll('\\|', '|'); // a `|` inside a Markdown table cell is written `\|`
}

const gitleaks = new RegExp(published(/^regex = '''(.+)'''$/m, 'the gitleaks rule'), 'g');
const github = new RegExp(
  `(?:${published(/^\| Before secret \| `(.+)` \|$/m, "GitHub's before-secret pattern").replace('\\A', '^')})` +
    `(${published(/^\| Secret format \| `(.+)` \|$/m, "GitHub's secret format")})` +
    `(?:${published(/^\| After secret \| `(.+)` \|$/m, "GitHub's after-secret pattern").replace('\\z', '$')})`,
  'gm',
);
const matches = {
  gitleaks: (text: string): string[] => text.match(gitleaks) ?? [],
  github: (text: string): string[] => [...text.matchAll(github)].map((m) => m[1]),
};

describe.each(Object.entries(matches))('the %s pattern published in docs/security.md', (_name, find) => {
  it('matches generated kl_live and kl_test keys, wherever they stand in the text', () => {
    for (let i = 0; i < 200; i++) {
      const live = generateToken(DEFAULT_TOKEN_PREFIX).token;
      const test = generateToken(TEST_TOKEN_PREFIX).token;
      expect(find(live)).toEqual([live]);
      expect(find(`API_KEY="${live}"\nother: ${test};`)).toEqual([live, test]);
      expect(find(`https://example.com/?key=${test}&x=1`)).toEqual([test]);
    }
  });

  it('refuses look-alikes: a wrong length, separator or prefix, or a key inside a longer word', () => {
    const { token, publicId } = generateToken();
    const secret = token.slice(-34);
    expect(find(`kl_live_${publicId}_${secret.slice(1)}`)).toEqual([]); // 33 characters after the publicId
    expect(find(`kl_live_${publicId.slice(1)}_${secret}`)).toEqual([]); // an 11-character publicId
    expect(find(`kl_live-${publicId}-${secret}`)).toEqual([]);
    expect(find(`kl_prod_${publicId}_${secret}`)).toEqual([]);
    expect(find(`${token}x`)).toEqual([]);
    expect(find(`my_${token}`)).toEqual([]);
    expect(find(`KL_LIVE_${publicId}_${secret}`)).toEqual([]);
  });
});

it('publishes, for gitleaks, the regex the code exports', () => {
  expect(gitleaks.source).toBe(TOKEN_SCANNER_REGEX);
});
