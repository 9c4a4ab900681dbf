import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ValidationError } from './domain-error.js';
import { isStorableText, UNSTORABLE_TEXT } from '@keyledger/nestjs';

export const MAX_BODY_DEPTH = 16;

/**
 * Names Nest's ValidationPipe deletes from a body, at any depth, before validation (its
 * prototype-pollution guard): a tag named `constructor` would vanish without a word. Refused here
 * instead, so the client learns it.
 */
const STRIPPED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Runs before validation on every body, query and route parameter: refuses absurdly nested input
 * before validation recurses into it (a stack overflow would be a 500), keys the validation pipe
 * would silently strip, and any string, value or key, that PostgreSQL cannot store. Fields are
 * named by their path; the offending value is never echoed.
 */
@Injectable()
export class RequestInputPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' && metadata.type !== 'query' && metadata.type !== 'param') return value;
    if (typeof value === 'string') {
      if (!isStorableText(value)) throw ValidationError.field(metadata.data ?? metadata.type, UNSTORABLE_TEXT);
      return value;
    }
    if (typeof value !== 'object' || value === null) return value;
    const stack: [unknown, number, string][] = [[value, 1, metadata.data ?? '']];
    while (stack.length > 0) {
      const [node, depth, path] = stack.pop()!;
      if (depth > MAX_BODY_DEPTH) {
        throw ValidationError.field(metadata.type, `is nested more than ${MAX_BODY_DEPTH} levels deep`);
      }
      for (const [key, child] of Object.entries(node as object)) {
        if (!isStorableText(key)) throw ValidationError.field(path || metadata.type, `has a key that ${UNSTORABLE_TEXT}`);
        const field = path ? `${path}.${key}` : key;
        if (!Array.isArray(node) && STRIPPED_KEYS.has(key)) {
          throw ValidationError.field(field, `"${key}" is a reserved name and cannot be used as a key`);
        }
        if (typeof child === 'string' && !isStorableText(child)) throw ValidationError.field(field, UNSTORABLE_TEXT);
        if (typeof child === 'object' && child !== null) stack.push([child, depth + 1, field]);
      }
    }
    return value;
  }
}
