import { Module } from '@nestjs/common';
import { ApiKeyAuthModule } from '../auth/index.js';
import { ExamplesController } from './examples.controller.js';

/** A sibling module as other teams write one: it imports the auth module and nothing deeper. */
@Module({ imports: [ApiKeyAuthModule], controllers: [ExamplesController] })
export class ExamplesModule {}
