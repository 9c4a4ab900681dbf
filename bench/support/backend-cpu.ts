import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';

/** Linux reports process times in clock ticks; USER_HZ is 100 on every mainstream build. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds used so far by the PostgreSQL backends of connections named `applicationName`, read
 * from /proc: only when the server runs on this machine (the embedded one does), else undefined.
 * With the CPU this process used, it splits a wall-clock time into work done here and in the
 * server, which stays meaningful when other work on the machine slows both down.
 */
export async function backendCpuSeconds(pool: Pool, applicationName: string): Promise<number | undefined> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  if (rows.length === 0) return undefined;
  let ticks = 0;
  for (const { pid } of rows) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined; // not a local server
    }
    // Fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}
