import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';

export interface ConsoleFile {
  body: Buffer;
  /** Precompressed by the build (console/build.mjs); absent when compression would not pay. */
  br?: Buffer;
  gzip?: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The repository root: the nearest package.json named keyledger above this file (src/console or dist/src/console). */
function packageRoot(): string | undefined {
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'keyledger') return dir;
    dir = dirname(dir);
  }
  return undefined;
}

/** Where the built console is read from; ConsoleModule provides `defaultConsoleDir()`. */
export const CONSOLE_DIR = Symbol('CONSOLE_DIR');

export function defaultConsoleDir(): string | undefined {
  const root = packageRoot();
  return root === undefined ? undefined : join(root, 'dist', 'console');
}

/**
 * The built console (dist/console, written by `npm run build`), held in memory: a handful of small
 * files, read once at startup, so a rebuild while the server runs never serves half-written files.
 */
@Injectable()
export class ConsoleAssets implements OnModuleInit {
  private readonly logger = new Logger(ConsoleAssets.name);
  private readonly files = new Map<string, ConsoleFile>();
  private indexHtml: ConsoleFile | undefined;

  constructor(@Inject(CONSOLE_DIR) private readonly dir: string | undefined) {}

  onModuleInit(): void {
    this.load();
  }

  load(): void {
    this.files.clear();
    this.indexHtml = undefined;
    const dir = this.dir;
    if (dir === undefined || !existsSync(join(dir, 'index.html'))) {
      this.logger.warn('the console is not built (no dist/console/index.html): run `npm run build`');
      return;
    }
    this.indexHtml = this.read(join(dir, 'index.html'));
    const assets = join(dir, 'assets');
    if (!existsSync(assets)) return;
    for (const name of readdirSync(assets)) {
      const path = join(assets, name);
      if (name.endsWith('.gz') || name.endsWith('.br') || !statSync(path).isFile()) continue;
      this.files.set(name, this.read(path));
    }
  }

  get built(): boolean {
    return this.indexHtml !== undefined;
  }

  index(): ConsoleFile | undefined {
    return this.indexHtml;
  }

  /** A hashed asset by file name (no path segments: `assets/<name>` only). */
  asset(name: string): ConsoleFile | undefined {
    return this.files.get(name);
  }

  private read(path: string): ConsoleFile {
    const body = readFileSync(path);
    const optional = (suffix: string): Buffer | undefined => (existsSync(path + suffix) ? readFileSync(path + suffix) : undefined);
    return {
      body,
      br: optional('.br'),
      gzip: optional('.gz'),
      contentType: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
  }
}
