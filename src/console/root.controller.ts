import { Controller, Get, Redirect } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/** `GET /` sends a browser to the console (the API itself lives under /admin, /v1 and /docs). */
@ApiExcludeController()
@Controller()
export class RootController {
  @Get()
  @Redirect('/console', 302)
  root(): void {}
}
