import { Module } from '@nestjs/common';
import { ExamplesController } from './examples.controller.js';

/**
 * A sibling module as other teams write one: ApiKeyAuthModule.forRoot() is global, so it only
 * imports the decorators from @keyledger/nestjs, nothing deeper.
 */
@Module({ controllers: [ExamplesController] })
export class ExamplesModule {}
