// For the Node-side in-process bench only: `cloudflare:workers` exists in workerd, not in Node. The
// gateway only extends DurableObject (the COORDINATOR class), which the bench never instantiates.
export class DurableObject {
  constructor(
    protected ctx: unknown,
    protected env: unknown,
  ) {}
}
