import { ApiError, send } from './api';

export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Parses a text/event-stream body (the HTML standard's algorithm: fields per line, blank line
 * dispatches, `:` comments ignored, multi-line data joined with \n).
 */
export async function* readEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | null = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: RegExpExecArray | null;
      while ((newline = /\r\n|\r|\n/.exec(buffer)) !== null) {
        const line = buffer.slice(0, newline.index);
        buffer = buffer.slice(newline.index + newline[0].length);
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const raw = colon === -1 ? '' : line.slice(colon + 1);
        const text = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id' && !text.includes('\0')) id = text;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped' | 'forbidden';

export interface StreamHandlers {
  onMessage(message: SseMessage): void;
  onStatus(status: StreamStatus, detail?: string): void;
}

/**
 * Server-Sent Events over fetch(): EventSource cannot send headers, and the key must not go in
 * a URL or a cookie, so the stream is an ordinary fetch with the `x-api-key` header, read with a
 * ReadableStream reader. Reconnects with backoff and Last-Event-ID, as EventSource would.
 * Returns a function that stops it.
 */
export function openEventStream(path: string, handlers: StreamHandlers): () => void {
  const controller = new AbortController();
  let lastEventId: string | null = null;
  let attempt = 0;

  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      handlers.onStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      try {
        const response = await send('GET', path, {
          signal: controller.signal,
          headers: { accept: 'text/event-stream', ...(lastEventId !== null ? { 'last-event-id': lastEventId } : {}) },
        });
        if (!response.body) throw new Error('no response body');
        for await (const message of readEventStream(response.body)) {
          if (message.id !== null) lastEventId = message.id;
          if (message.event === 'ready') {
            attempt = 0;
            handlers.onStatus('live');
          }
          handlers.onMessage(message);
        }
      } catch (error) {
        if (controller.signal.aborted) break;
        if (error instanceof ApiError && error.status === 401) break; // signed out by send()
        if (error instanceof ApiError && error.status === 403) {
          handlers.onStatus('forbidden', error.message);
          return;
        }
      }
      if (controller.signal.aborted) break;
      attempt++;
      handlers.onStatus('reconnecting');
      const delay = Math.min(500 * 2 ** Math.min(attempt, 5), 15_000);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        controller.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    handlers.onStatus('stopped');
  };
  void run();
  return () => controller.abort();
}
