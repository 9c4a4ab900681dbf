import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ValidationError } from './domain-error.js';

export const MAX_BODY_DEPTH = 16;

/** Refuses absurdly nested bodies before validation recurses into them (a stack overflow would be a 500). */
@Injectable()
export class BodyDepthPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' || typeof value !== 'object' || value === null) return value;
    const stack: [unknown, number][] = [[value, 1]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop()!;
      if (depth > MAX_BODY_DEPTH) {
        throw ValidationError.field('body', `is nested more than ${MAX_BODY_DEPTH} levels deep`);
      }
      for (const child of Object.values(node as object)) {
        if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
      }
    }
    return value;
  }
}
