import { ValidationPipe, type ValidationError as ClassValidatorError } from '@nestjs/common';
import { ValidationError, type FieldError } from './domain-error.js';

/** Checks of a value's type: when one fails, the field's other checks (its length, its range) say nothing useful. */
const TYPE_CHECKS = new Set(['isString', 'isInt', 'isNumber', 'isBoolean', 'isArray', 'isObject', 'isISO8601']);

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** class-validator says "tenantId must be a string"; the detail already names the field: "must be a string". */
function withoutFieldName(message: string, property: string): string {
  if (/^property \S+ should not exist$/.test(message)) return 'is not a known field; remove it';
  return message.replace(new RegExp(`^(each value in )?${escapeRegExp(property)} `), (_, each?: string) => (each ? 'each value ' : ''));
}

/** One field's messages: "is required" alone when it is missing, its type alone when that is wrong. */
function messagesOf(e: ClassValidatorError): string[] {
  const failed = Object.entries(e.constraints ?? {});
  if (failed.length === 0) return [];
  // Optional fields are skipped when absent (@IsOptional), so a check failing on nothing is a required field.
  if (e.value === undefined && !('whitelistValidation' in (e.constraints ?? {}))) return ['is required'];
  const typeChecks = failed.filter(([name]) => TYPE_CHECKS.has(name));
  return (typeChecks.length > 0 ? typeChecks : failed).map(([, message]) => withoutFieldName(message, e.property));
}

function flatten(errors: ClassValidatorError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    return [...messagesOf(e).map((message) => ({ field, message })), ...flatten(e.children ?? [], field)];
  });
}

/** Unknown fields are refused (not silently dropped) and every failure names its field, once. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => ValidationError.of(flatten(errors)),
  });
}
