import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'keyledger:public';

/** With `guardAllRoutes`, marks a route (or controller) that needs no API key. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
