import { once } from 'node:events';

/** Writes a chunk of a long output, waiting whenever stdout's buffer is full (constant memory). */
export async function writeChunk(chunk: string): Promise<void> {
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}

/** Streams items as one JSON array, one item per line. */
export async function writeJsonArray<T>(items: AsyncIterable<T>): Promise<void> {
  let first = true;
  await writeChunk('[');
  for await (const item of items) {
    await writeChunk(`${first ? '\n' : ',\n'}  ${JSON.stringify(item)}`);
    first = false;
  }
  await writeChunk(first ? ']\n' : '\n]\n');
}

export async function* take<T>(items: AsyncIterable<T>, limit: number | undefined): AsyncGenerator<T> {
  if (limit === undefined) {
    yield* items;
    return;
  }
  let n = 0;
  if (n >= limit) return;
  for await (const item of items) {
    yield item;
    if (++n >= limit) return;
  }
}
