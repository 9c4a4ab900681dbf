/**
 * Each key's events form one stream, `key-<keyId>`: the registry appends to it, the guard follows
 * its notifications. Only these two functions know the naming.
 */
const KEY_STREAM_PREFIX = 'key-';

export const keyStreamId = (keyId: string): string => `${KEY_STREAM_PREFIX}${keyId}`;

/** The key id of a key's stream; undefined for any other stream. */
export const keyIdOfStream = (streamId: string): string | undefined =>
  streamId.startsWith(KEY_STREAM_PREFIX) ? streamId.slice(KEY_STREAM_PREFIX.length) : undefined;
