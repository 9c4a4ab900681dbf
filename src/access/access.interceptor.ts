import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, concatMap, from, mergeMap, throwError, type Observable } from 'rxjs';
import { PRINCIPAL_PROPERTY, refusalLogRecord, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { toErrorBody } from '../common/index.js';
import { AccessLog, accessRecord, isAdminRoute, RECORDED_REFUSALS } from './access-log.js';

const AUDIT_ROUTES = '/admin/audit';

/**
 * Every admin route (app-wide): a refusal of an authenticated caller (403, 404, 409, 412, 422) is
 * logged and recorded; every answered read of the audit log (entries, export, digest, verify,
 * these access records) is recorded. The guard reports its own refusals (see AccessLog.guardRefused).
 */
@Injectable()
export class AccessInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Access');

  constructor(private readonly log: AccessLog) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.getArgByIndex<Record<string, unknown> & { routeOptions?: { url?: string } }>(0);
    const principal = request[PRINCIPAL_PROPERTY] as ApiKeyPrincipal | null | undefined;
    if (context.getType() !== 'http' || principal == null || !isAdminRoute(request)) return next.handle();
    const auditRead = request.routeOptions?.url?.startsWith(AUDIT_ROUTES) === true;
    return next.handle().pipe(
      concatMap((value: unknown) =>
        auditRead ? from(this.log.record(accessRecord(request, principal, 'allowed', 200, 'OK')).then(() => value)) : [value],
      ),
      catchError((error: unknown) => {
        const { statusCode, code } = toErrorBody(error);
        if (!RECORDED_REFUSALS.has(statusCode)) return throwError(() => error);
        const refused = async (): Promise<void> => {
          this.logger.warn({
            ...refusalLogRecord(request, statusCode, code, principal.publicId),
            ...(await this.log.actorFields(principal)),
          });
          await this.log.record(accessRecord(request, principal, 'refused', statusCode, code));
        };
        return from(refused()).pipe(mergeMap(() => throwError(() => error)));
      }),
    );
  }
}
