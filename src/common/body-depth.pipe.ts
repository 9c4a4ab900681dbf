import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ValidationError } from './domain-error.js';

export const MAX_BODY_DEPTH = 16;

/**
 * Names Nest's ValidationPipe deletes from a body, at any depth, before validation (its
 * prototype-pollution guard): a tag named `constructor` would vanish without a word. Refused here
 * instead, so the client learns it.
 */
const STRIPPED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Refuses absurdly nested bodies before validation recurses into them (a stack overflow would be
 * a 500), and keys the validation pipe would silently strip.
 */
@Injectable()
export class BodyDepthPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' || typeof value !== 'object' || value === null) return value;
    const stack: [unknown, number, string][] = [[value, 1, '']];
    while (stack.length > 0) {
      const [node, depth, path] = stack.pop()!;
      if (depth > MAX_BODY_DEPTH) {
        throw ValidationError.field('body', `is nested more than ${MAX_BODY_DEPTH} levels deep`);
      }
      for (const [key, child] of Object.entries(node as object)) {
        const field = path ? `${path}.${key}` : key;
        if (!Array.isArray(node) && STRIPPED_KEYS.has(key)) {
          throw ValidationError.field(field, `"${key}" is a reserved name and cannot be used as a key`);
        }
        if (typeof child === 'object' && child !== null) stack.push([child, depth + 1, field]);
      }
    }
    return value;
  }
}
