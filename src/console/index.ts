export { ConsoleModule } from './console.module.js';
export { CONSOLE_CSP, CONSOLE_SECURITY_HEADERS } from './security-headers.js';
export type { ConsoleSession } from './console-session.response.dto.js';
export type { TailEvent } from './live-tail.service.js';
