import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store/index.js';
import { ConsoleApiController } from './console-api.controller.js';
import { CONSOLE_DIR, ConsoleAssets, defaultConsoleDir } from './console-assets.js';
import { RootController } from './root.controller.js';
import { ConsoleController } from './console.controller.js';
import { LiveTail } from './live-tail.service.js';

/** The web console at /console (built by `npm run build` into dist/console) and its two endpoints under /console/api. */
@Module({
  imports: [EventStoreModule],
  controllers: [ConsoleApiController, ConsoleController, RootController],
  providers: [{ provide: CONSOLE_DIR, useFactory: defaultConsoleDir }, ConsoleAssets, LiveTail],
})
export class ConsoleModule {}
