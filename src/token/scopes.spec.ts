import { ValidationError } from '../common/index.js';
import { hasScopes, scopeCovers } from '@keyledger/nestjs';
import { assertGrantable, ScopeNotGrantableError, isValidScope, MAX_SCOPES, normalizeScopes, ungrantable } from './scopes.js';

describe('scopes', () => {
  describe('isValidScope', () => {
    it.each(['admin', 'invoices', 'invoices:read', 'invoices:*', 'invoices:*:read', 'a-b_c:x-y_z', 'v2:reports:read:all'])(
      'accepts %j',
      (scope) => {
        expect(isValidScope(scope)).toBe(true);
      },
    );

    it.each([
      '',
      '*',
      'Invoices',
      '1invoices',
      '-invoices',
      'invoices:',
      ':read',
      'invoices::read',
      'invoices:READ',
      'in voices',
      'invoices.read',
      `a${'b'.repeat(128)}`,
    ])('rejects %j', (scope) => {
      expect(isValidScope(scope)).toBe(false);
    });
  });

  describe('normalizeScopes', () => {
    it('de-duplicates and sorts', () => {
      expect(normalizeScopes(['users:read', 'invoices:read', 'users:read', 'admin'])).toEqual(['admin', 'invoices:read', 'users:read']);
    });

    it('names the bad scope by its position in a field error on "scopes", never by its value', () => {
      expect(() => normalizeScopes(['invoices:read', 'Users:Read'])).toThrow(ValidationError);
      expect(() => normalizeScopes(['invoices:read', 'Users:Read'])).toThrow(
        expect.objectContaining({ details: [{ field: 'scopes', message: expect.stringMatching(/^scope 2 must match/) as string }] }),
      );
      expect(() => normalizeScopes(['invoices:read', 'Users:Read'])).not.toThrow(/Users:Read/);
    });

    it('refuses a list that is not an array of strings', () => {
      expect(() => normalizeScopes('invoices:read' as unknown as string[])).toThrow(ValidationError);
      expect(() => normalizeScopes([42] as unknown as string[])).toThrow(ValidationError);
    });

    it(`allows ${MAX_SCOPES} distinct scopes but not one more`, () => {
      const scopes = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `s${i}:read`);

      expect(normalizeScopes(scopes.slice(0, MAX_SCOPES))).toHaveLength(MAX_SCOPES);
      expect(() => normalizeScopes(scopes)).toThrow(expect.objectContaining({ message: expect.stringContaining('at most 64') as string }));
    });

    it('counts duplicates once against the limit', () => {
      const scopes = Array.from({ length: MAX_SCOPES }, (_, i) => `s${i}`);

      expect(normalizeScopes([...scopes, ...scopes])).toHaveLength(MAX_SCOPES);
    });
  });

  describe('scopeCovers', () => {
    it.each([
      ['admin', 'anything:at:all'],
      ['admin', 'admin'],
      ['invoices:read', 'invoices:read'],
      ['invoices', 'invoices'],
      ['invoices:*', 'invoices:read'],
      ['invoices:*', 'invoices:read:all'],
      ['invoices:*', 'invoices:*'],
      ['invoices:*:read', 'invoices:eu:read'],
      ['invoices:*:read', 'invoices:*:read'],
    ])('%j covers %j', (held, wanted) => {
      expect(scopeCovers(held, wanted)).toBe(true);
    });

    it.each([
      ['invoices:read', 'invoices:write'],
      ['invoices:read', 'invoices:read:all'],
      ['invoices:read:all', 'invoices:read'],
      ['invoices', 'invoices:read'],
      ['invoices:*', 'invoices'],
      ['invoices:*', 'users:read'],
      ['invoices:*:read', 'invoices:eu:write'],
      ['invoices:*:read', 'invoices:eu:read:all'],
      ['invoices:read', 'invoices:*'],
      ['invoices:re*', 'invoices:read'],
      ['admin:*', 'admin'],
      ['users:read', 'admin'],
    ])('%j does not cover %j', (held, wanted) => {
      expect(scopeCovers(held, wanted)).toBe(false);
    });
  });

  describe('hasScopes / ungrantable / assertGrantable', () => {
    const held = ['invoices:*', 'users:read'];

    it('holds a set only when every wanted scope is covered', () => {
      expect(hasScopes(held, ['invoices:write', 'users:read'])).toBe(true);
      expect(hasScopes(held, [])).toBe(true);
      expect(hasScopes(held, ['invoices:write', 'users:write'])).toBe(false);
      expect(hasScopes([], ['users:read'])).toBe(false);
    });

    it('lists the wanted scopes the holder does not cover, in the order asked', () => {
      expect(ungrantable(held, ['users:write', 'invoices:read', 'admin', 'users:read'])).toEqual(['users:write', 'admin']);
      expect(ungrantable(['admin'], ['users:write', 'admin'])).toEqual([]);
    });

    it('refuses to grant scopes the grantor does not hold, naming them', () => {
      expect(() => assertGrantable(held, ['users:write', 'admin'])).toThrow(ScopeNotGrantableError);
      expect(() => assertGrantable(held, ['users:write', 'admin'])).toThrow(
        expect.objectContaining({
          kind: 'forbidden',
          code: 'KEY.SCOPE_NOT_GRANTABLE',
          message: expect.stringContaining('users:write, admin') as string,
        }),
      );
      expect(() => assertGrantable(held, ['invoices:read:all'])).not.toThrow();
    });
  });
});
