import { Inject, Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { KEY_PEPPER } from '@keyledger/nestjs';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A new Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Seals the endpoints' signing secrets at rest. Signing needs the secret itself, so it is stored,
 * but only AES-256-GCM encrypted under a key derived (HKDF-SHA-256) from the key pepper, with the
 * endpoint id as associated data (a ciphertext copied to another endpoint's row does not open).
 * A database dump alone does not reveal a secret; the pepper does not leave the process.
 */
@Injectable()
export class WebhookSecrets {
  private readonly key: Buffer;

  constructor(@Inject(KEY_PEPPER) pepper: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', pepper, 'keyledger', 'webhook-signing-secrets', 32));
  }

  seal(endpointId: string, secret: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(endpointId));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
  }

  open(endpointId: string, box: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, box.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(box.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(box.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
