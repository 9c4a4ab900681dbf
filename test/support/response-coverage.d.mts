import type { FastifyInstance } from 'fastify';

export function recordResponses(fastify: FastifyInstance): void;
export function recordOpenApiDocument(url: string): Promise<void>;
export function undocumentedResponses(dir: string): string[];
