import { DomainError } from '../common/index.js';

export class ReportSignatureError extends DomainError {
  static missing(): ReportSignatureError {
    return new ReportSignatureError(
      'unauthenticated',
      'SECRET_SCANNING.UNSIGNED',
      'A report must be signed: send the Github-Public-Key-Identifier and Github-Public-Key-Signature headers',
    );
  }

  static notConfigured(): ReportSignatureError {
    return new ReportSignatureError(
      'forbidden',
      'SECRET_SCANNING.BAD_SIGNATURE',
      'This server has no secret-scanning public keys (SECRET_SCANNING_KEYS_FILE), so it accepts no report',
    );
  }

  static unknownKey(): ReportSignatureError {
    return new ReportSignatureError(
      'forbidden',
      'SECRET_SCANNING.BAD_SIGNATURE',
      'The report is signed with a key this server does not know: refresh SECRET_SCANNING_KEYS_FILE from GitHub (docs/security.md)',
    );
  }

  static invalid(): ReportSignatureError {
    return new ReportSignatureError('forbidden', 'SECRET_SCANNING.BAD_SIGNATURE', 'The signature does not verify over the request body');
  }
}

export class TooManyReportsError extends DomainError {
  static create(retryAfterMs: number): TooManyReportsError {
    return new TooManyReportsError(
      'rate-limited',
      'SECRET_SCANNING.RATE_LIMITED',
      `Too many reports from this address; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
  }
}
