// For the Node-side in-process bench only: `cloudflare:workers` exists in workerd, not in Node. The
// gateway only extends DurableObject (the COORDINATOR class), which the bench never instantiates, and
// reads `env` at start-up to validate its configuration early (none here: each request brings its own).
export const env: Record<string, unknown> | undefined = undefined;
export class DurableObject {
  constructor(
    protected ctx: unknown,
    protected env: unknown,
  ) {}
}
