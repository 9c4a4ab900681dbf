import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The usage tables (#18) are updated in place every flush interval: each flush rewrites the last
 * use of every key used and adds to its daily counts. With pages left 30 % free, the new row
 * version fits on its page and no index changes (a HOT update), instead of a new heap tuple and
 * new index entries elsewhere: bench:usage's updating flush ran 1.5–2× faster in an interleaved
 * A/B (docs/performance-log.md, "Usage speed"). Pages written from now on keep the room; existing
 * ones get it when rewritten (VACUUM FULL, or as rows move).
 */
export class UsageFillfactor1764000000021 implements MigrationInterface {
  name = 'UsageFillfactor1764000000021';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE key_last_use SET (fillfactor = 70)');
    await q.query('ALTER TABLE key_usage_daily SET (fillfactor = 70)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE key_usage_daily RESET (fillfactor)');
    await q.query('ALTER TABLE key_last_use RESET (fillfactor)');
  }
}
