import { app } from './app';
import type { Env } from './env';

/** The COORDINATOR binding's class (wrangler.toml [[durable_objects.bindings]]); unused in KV-only mode. */
export { SessionCoordinator } from './coordinator/object';

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
