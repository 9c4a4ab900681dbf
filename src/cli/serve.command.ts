import { CliCommand, Command } from './cli-command.js';
import { Registry } from './registry.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

@Command({ name: 'serve', description: 'Run the HTTP server (admin API, verify API, guard), as "npm start" does' })
export class ServeCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(): Promise<void> {
    const [config, { ConsoleLogger, Logger }] = await Promise.all([this.registry.appConfig(), import('@nestjs/common')]);
    // The server logs like `npm start` (stdout), not like a CLI command.
    Logger.overrideLogger(new ConsoleLogger());
    // Loaded here: the HTTP stack (Fastify, Swagger UI) is for this command only.
    const { serve } = await import('../main.js');
    const server = await serve(config);
    // Until a signal: then close the app (HTTP, pool, LISTEN) and the embedded PostgreSQL, and exit 0.
    // Nest's own shutdown hook handles the same signal; both end in the same close.
    await new Promise<void>((resolve, reject) => {
      let closing = false;
      const onSignal = (): void => {
        if (closing) return; // Nest re-raises the signal once its hooks ran: it finds us still listening
        closing = true;
        server.close().then(resolve, reject);
      };
      for (const signal of SIGNALS) process.on(signal, onSignal);
    });
  }
}
