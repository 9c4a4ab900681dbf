import type { Registry } from '../registry.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The domain names a key by its id (`API key 9fd7… is revoked`); a user who typed its publicId
 * should read that publicId back. Rewrites a refused command's message in the user's terms.
 */
export async function inKeyTerms<T>(registry: Registry, ref: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const { DomainError } = await import('../../common/index.js');
    if (!(error instanceof DomainError) || UUID.test(ref)) throw error;
    const { KeyRepository } = await import('../../keys/index.js');
    const keys = await registry.get(KeyRepository);
    const keyId = await keys.resolveKeyId(ref).catch(() => undefined);
    if (keyId === undefined || !error.message.includes(keyId)) throw error;
    throw new DomainError(error.kind, error.code, error.message.replaceAll(keyId, ref), error.details);
  }
}
