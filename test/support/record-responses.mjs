// `node --import` this into a server started as a user starts it (app-process.ts): it records the
// responses of the Fastify instance the app creates, as test apps do (response-coverage.mjs).
import { subscribe } from 'node:diagnostics_channel';
import { recordResponses } from './response-coverage.mjs';

subscribe('fastify.initialization', ({ fastify }) => recordResponses(fastify));
