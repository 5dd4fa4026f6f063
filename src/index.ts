import { env } from 'cloudflare:workers';
import { app } from './app';
import type { Env } from './env';
import { preloadConfig } from './config';

import { CoordinatorObject, type CoordinatorEnv } from './coordinator/object';
import { refreshOnce } from './lifecycle/refresh';

/**
 * The COORDINATOR binding's class (wrangler.toml [[durable_objects.bindings]]); unused in KV-only mode.
 * Wired here with the lifecycle's one refresh algorithm, which the object runs over its own storage.
 */
export class SessionCoordinator extends CoordinatorObject {
  constructor(ctx: DurableObjectState, env: CoordinatorEnv) {
    super(ctx, env, refreshOnce);
  }
}

// The configuration is validated while the isolate starts (config/index.ts preloadConfig): the first
// request's `env` holds the same values (another object in workerd), so it finds the configuration parsed.
preloadConfig(env as Record<string, unknown> | undefined);

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
