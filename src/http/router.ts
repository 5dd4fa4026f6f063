/**
 * The few static routes of app.ts, dispatched without a framework: the subset of Hono's API that app.ts
 * uses (`use`, `get`, `on`, `all`, `onError`, `fetch`), with Hono's behaviour where a request can tell:
 * - middleware and handlers run in the order they were added, among those whose method and path match;
 * - a pattern is an exact path, `*`, a path ending in `/*` (which also matches the path without it),
 *   or a path with `:name` segments;
 * - paths are matched after percent-decoding everything but reserved characters (decodeURI), so an
 *   encoded spelling of a gateway endpoint (`/_auth/%6cogin`) is still that endpoint;
 * - HEAD runs the GET route and answers without a body (RFC 9110 9.3.2);
 * - an Error thrown anywhere becomes the `onError` response where it was thrown, so middleware around
 *   it still sees the response (`c.res`) and the error (`c.error`) after `next()`.
 * Routing is a loop over a dozen patterns compiled once: smaller and cheaper to load than a router
 * built for hundreds of routes (bench/RESULTS.md, "Bundle" and "Cold start").
 */

const NONE: Record<string, string> = Object.freeze({}) as Record<string, string>;

export interface RouterEnv {
  Bindings: object;
  Variables: object;
}

export interface Context<E extends RouterEnv> {
  env: E['Bindings'];
  readonly executionCtx: ExecutionContext;
  req: { raw: Request; url: string; param(name: string): string };
  var: E['Variables'];
  set<K extends keyof E['Variables']>(key: K, value: E['Variables'][K]): void;
  /** The response so far: set when a handler (or onError) answered (undefined before). */
  res: Response;
  /** The Error that onError turned into `res`, if any. */
  error: Error | undefined;
}

type Next = () => Promise<void>;
type Middleware<E extends RouterEnv> = (c: Context<E>, next: Next) => Promise<void | Response> | void | Response;
type Handler<E extends RouterEnv> = (c: Context<E>) => Response | Promise<Response>;
type ErrorHandler<E extends RouterEnv> = (error: Error, c: Context<E>) => Response | Promise<Response>;

interface Route<E extends RouterEnv> {
  /** Upper-case methods, or null for any. */
  methods: readonly string[] | null;
  match: (path: string) => Record<string, string> | null;
  run: (c: Context<E>, next: Next) => Promise<void | Response> | void | Response;
  /** Handlers answer; middleware passes on with `next()`. */
  handler: boolean;
}

export class Router<E extends RouterEnv> {
  private readonly routes: Route<E>[] = [];
  private errorHandler: ErrorHandler<E> = (error) => {
    throw error;
  };

  use(path: string, middleware: Middleware<E>): this {
    this.routes.push({ methods: null, match: compile(path), run: middleware, handler: false });
    return this;
  }

  get(path: string, handler: Handler<E>): this {
    return this.on(['GET'], path, handler);
  }

  all(path: string, handler: Handler<E>): this {
    this.routes.push({ methods: null, match: compile(path), run: handler, handler: true });
    return this;
  }

  on(methods: readonly string[], path: string, handler: Handler<E>): this {
    this.routes.push({ methods: methods.map((m) => m.toUpperCase()), match: compile(path), run: handler, handler: true });
    return this;
  }

  onError(handler: ErrorHandler<E>): this {
    this.errorHandler = handler;
    return this;
  }

  fetch = (request: Request, env: E['Bindings'], executionCtx?: ExecutionContext): Promise<Response> => {
    const head = request.method === 'HEAD';
    const method = head ? 'GET' : request.method;
    const url = request.url;
    const path = routingPath(url);
    const chain: Route<E>[] = [];
    const params: Record<string, string>[] = [];
    for (const route of this.routes) {
      if (route.methods && !route.methods.includes(method)) continue;
      const found = route.match(path);
      if (found) {
        chain.push(route);
        params.push(found);
      }
    }
    const c = new RouterContext<E>(request, url, env, executionCtx);
    const dispatch = async (i: number): Promise<void> => {
      const route = chain[i];
      if (!route) return;
      c.params = params[i]!;
      try {
        const result = await route.run(c, () => dispatch(i + 1));
        if (result instanceof Response) c.res = result;
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        c.error = error;
        c.res = await this.errorHandler(error, c);
      }
    };
    return dispatch(0).then(() => {
      // Made only when no route answered: building a Response costs more than dispatching the request.
      const res = c.res ?? new Response('404 Not Found', { status: 404 });
      return head ? new Response(null, res) : res;
    });
  };
}

class RouterContext<E extends RouterEnv> implements Context<E> {
  var = {} as E['Variables'];
  res = undefined as unknown as Response;
  error: Error | undefined = undefined;
  params: Record<string, string> = NONE;
  readonly req: Context<E>['req'];

  constructor(
    raw: Request,
    url: string,
    readonly env: E['Bindings'],
    private readonly ctx: ExecutionContext | undefined,
  ) {
    this.req = { raw, url, param: (name) => this.params[name] ?? '' };
  }

  get executionCtx(): ExecutionContext {
    if (!this.ctx) throw new Error('This context has no ExecutionContext');
    return this.ctx;
  }

  set<K extends keyof E['Variables']>(key: K, value: E['Variables'][K]): void {
    this.var[key] = value;
  }
}

/** `*`, `/x/*` (also `/x`), `/x/:name`, or an exact path. */
function compile(pattern: string): (path: string) => Record<string, string> | null {
  if (pattern === '*' || pattern === '/*') return () => NONE;
  if (pattern.endsWith('/*')) {
    const base = pattern.slice(0, -2);
    return (path) => (path === base || path.startsWith(`${base}/`) ? NONE : null);
  }
  if (pattern.includes('/:')) {
    const parts = pattern.split('/');
    return (path) => {
      const segments = path.split('/');
      if (segments.length !== parts.length) return null;
      const params: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        if (part.startsWith(':')) {
          if (segments[i] === '') return null;
          params[part.slice(1)] = segments[i]!;
        } else if (part !== segments[i]) return null;
      }
      return params;
    };
  }
  return (path) => (path === pattern ? NONE : null);
}

/**
 * The path routes are matched on: the URL's path, percent-decoded except for reserved characters and
 * `%25` (decodeURI), as Hono did. A path that does not decode (a stray `%`) is matched as sent.
 */
function routingPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start === -1) return '/';
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const ch = url.charCodeAt(i);
    if (ch === 63 /* ? */ || ch === 35 /* # */) {
      end = i;
      break;
    }
  }
  const path = url.slice(start, end);
  if (!path.includes('%')) return path;
  try {
    return decodeURI(path.replace(/%25/g, '%2525'));
  } catch {
    return path;
  }
}
