import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, tap, type Observable } from 'rxjs';
import { counter, DomainError } from '../../common/index.js';

const commands = counter({
  name: 'keyledger_commands_total',
  help: 'Admin commands by type and outcome (ok, or the error code)',
  labelNames: ['command', 'outcome'] as const,
});

/** Counts each admin route's outcome; reads are counted too, under their handler name. */
@Injectable()
export class CommandMetricsInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const command = context.getHandler().name;
    return next.handle().pipe(
      tap(() => commands.labels(command, 'ok').inc()),
      catchError((error: unknown) => {
        commands.labels(command, error instanceof DomainError ? error.code : 'INTERNAL').inc();
        throw error;
      }),
    );
  }
}
