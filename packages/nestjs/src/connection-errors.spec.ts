import { isConnectionError } from './connection-errors.js';

const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432')],
    ['a reset connection', withCode('ECONNRESET')],
    ['a timed-out socket', withCode('ETIMEDOUT')],
    ['a broken pipe', withCode('EPIPE')],
    ['an unknown host', withCode('ENOTFOUND')],
    ['a server shutting down (57P01)', withCode('57P01', 'terminating connection due to administrator command')],
    ['a server starting up (57P03)', withCode('57P03', 'the database system is starting up')],
    ['a connection exception (08006)', withCode('08006')],
    ['pg: connection terminated', new Error('Connection terminated unexpectedly')],
    ['pg: connect timeout', new Error('Connection terminated due to connection timeout')],
    ['pg-pool: connect timeout', new Error('timeout exceeded when trying to connect')],
    ['pg: a Client connect timeout', new Error('timeout expired')],
    ['pg: a client that lost its connection', new Error('Client has encountered a connection error and is not queryable')],
    ['every address of localhost refused', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')])],
    ['a wrapped cause', new Error('load failed', { cause: withCode('ECONNRESET') })],
  ])('is true for %s', (_what, error) => {
    expect(isConnectionError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['bad input to PostgreSQL', withCode('22P02', 'invalid input syntax for type uuid')],
    ['a statement timeout', withCode('57014')],
    ['an error applying an event', new Error('audit-log: key.rotated at position 7 for key k, which has no key.created')],
    ['a message that merely mentions a connection', new Error('Connection terminated? no: a poison event')],
    ['not an error', 'ECONNREFUSED'],
    ['null', null],
  ])('is false for %s', (_what, error) => {
    expect(isConnectionError(error)).toBe(false);
  });
});
