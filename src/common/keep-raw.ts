import type { TransformFnParams } from 'class-transformer';

/**
 * `@Transform(keepRaw)`: the property exactly as the body had it. For free-form maps (tags):
 * class-transformer drops keys it treats as special (`constructor`, `toString`, …), so such an
 * entry would vanish silently instead of being kept or refused; the domain validates and copies
 * the map itself.
 */
export function keepRaw({ key, obj }: TransformFnParams): unknown {
  return (obj as Record<string, unknown>)[key];
}
