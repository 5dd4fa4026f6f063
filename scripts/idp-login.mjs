// Scripted browser for the local OpenID Provider (scripts/idp.mjs): signs a user in through
// oidc-provider's devInteractions login form and hands back the authorization response.
//
// Tests import this from Node and from inside workerd, so it uses only web-platform APIs
// (fetch, URL, URLSearchParams, Headers) — no Node imports, ever.

/**
 * @typedef {object} CookieJar
 * @property {(url: URL) => string} header  `Cookie` header value for a request to `url`
 * @property {(url: URL, response: Response) => void} store  remembers the response's `Set-Cookie`s
 */

/**
 * @typedef {{ method: 'GET', url: string } | { method: 'POST', url: string, body: URLSearchParams }} AuthorizationResponse
 * How the IdP sends the browser back to the client: a redirect (query/fragment response modes),
 * or an auto-submitted form (`response_mode=form_post`).
 */

/**
 * @typedef {object} WalkOptions
 * @property {CookieJar} [jar]  share one jar between sign-in and sign-out to keep the IdP session
 * @property {typeof fetch} [fetch]  defaults to the global fetch
 */

// A sign-in is ~5 hops (authorize, interaction, submit, resume, redirect); anything far beyond
// that is a loop, not a slow IdP.
const MAX_STEPS = 20;

/**
 * A minimal host-only cookie jar (RFC 6265 §5.3 without Domain cookies): enough for the IdP's
 * session and interaction cookies, which are host-only and path-scoped.
 * @returns {CookieJar}
 */
export function createCookieJar() {
  /** @type {Map<string, { host: string, path: string, name: string, value: string }>} */
  const cookies = new Map();
  return {
    header(url) {
      return [...cookies.values()]
        .filter((c) => c.host === url.host && pathMatches(url.pathname, c.path))
        // Longer paths first (RFC 6265 §5.4 step 2), so a path-scoped cookie wins over `/`.
        .sort((a, b) => b.path.length - a.path.length)
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
    },
    store(url, response) {
      for (const line of setCookieLines(response.headers)) {
        const [pair = '', ...attributes] = line.split(';');
        const eq = pair.indexOf('=');
        if (eq < 1) continue;
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        let path = defaultPath(url.pathname);
        let expired = false;
        for (const attribute of attributes) {
          const [key = '', ...rest] = attribute.split('=');
          const attr = key.trim().toLowerCase();
          const attrValue = rest.join('=').trim();
          if (attr === 'path' && attrValue.startsWith('/')) path = attrValue;
          if (attr === 'max-age' && Number(attrValue) <= 0) expired = true;
          if (attr === 'expires' && Date.parse(attrValue) <= Date.now()) expired = true;
        }
        const key = `${url.host} ${path} ${name}`;
        if (expired) cookies.delete(key);
        else cookies.set(key, { host: url.host, path, name, value });
      }
    },
  };
}

/**
 * Signs `user` in at the IdP and returns how the IdP sends the browser back to the client,
 * without contacting the client. Redirects are followed only on the IdP's own origin.
 * @param {string | URL} authorizeUrl  the IdP's authorization URL with all parameters
 * @param {string} user  login name typed into the dev form (e.g. `alice`); any name is accepted
 * @param {WalkOptions & { password?: string }} [options]
 * @returns {Promise<AuthorizationResponse>}
 */
export async function authorizeAtIdp(authorizeUrl, user, options = {}) {
  const start = new URL(authorizeUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  return walk(start, options, {
    // The client's redirect URI may share the IdP's origin (not in our setups, but legal).
    isDestination: (url) => redirectUri !== null && url.href.split('?')[0] === redirectUri,
    fill(form) {
      if (form.fields.has('login')) {
        form.fields.set('login', user);
        form.fields.set('password', options.password ?? 'any-password');
        return true;
      }
      // A consent form (prompt=consent, or an IdP that does not skip consent) needs only its
      // hidden fields.
      return form.fields.get('prompt') === 'consent';
    },
  });
}

/**
 * {@link authorizeAtIdp} for the usual redirect response: the callback URL with `code`, `state`
 * and `iss` (or `error`), ready to be fetched from the client.
 * @param {string | URL} authorizeUrl
 * @param {string} user
 * @param {WalkOptions & { password?: string }} [options]
 * @returns {Promise<string>}
 */
export async function signInAtIdp(authorizeUrl, user, options) {
  const response = await authorizeAtIdp(authorizeUrl, user, options);
  if (response.method !== 'GET') {
    throw new Error(`the IdP answered with a form POST to ${response.url} (response_mode=form_post?); use authorizeAtIdp()`);
  }
  return response.url;
}

/**
 * Completes RP-initiated logout: opens the end-session URL, confirms "sign me out" (ending the
 * whole IdP session, which triggers back-channel logout), and returns where the IdP sends the
 * browser: the client's post-logout redirect URI, or the IdP's own "signed out" page.
 * Pass the `jar` used for sign-in, otherwise the IdP has no session to end.
 * @param {string | URL} endSessionUrl
 * @param {WalkOptions} [options]
 * @returns {Promise<string>}
 */
export async function signOutAtIdp(endSessionUrl, options = {}) {
  const response = await walk(new URL(endSessionUrl), options, {
    isDestination: () => false,
    fill(form) {
      if (!form.fields.has('xsrf')) return false;
      // The confirm button sits outside the form (`form="op.logoutForm"`), so add its value.
      form.fields.set('logout', 'yes');
      return true;
    },
    acceptPageWithoutForm: true,
  });
  return response.url;
}

/**
 * @param {URL} start
 * @param {WalkOptions} options
 * @param {{ isDestination: (url: URL) => boolean, fill: (form: Form) => boolean, acceptPageWithoutForm?: boolean }} steps
 * @returns {Promise<AuthorizationResponse>}
 */
async function walk(start, options, steps) {
  const doFetch = options.fetch ?? fetch;
  const jar = options.jar ?? createCookieJar();
  const idpOrigin = start.origin;

  /** @type {{ method: string, url: URL, body?: URLSearchParams }} */
  let request = { method: 'GET', url: start };
  for (let step = 0; step < MAX_STEPS; step++) {
    const headers = new Headers({ accept: 'text/html' });
    const cookie = jar.header(request.url);
    if (cookie) headers.set('cookie', cookie);
    const response = await doFetch(request.url.href, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
    });
    jar.store(request.url, response);

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, request.url);
      if (next.origin !== idpOrigin || steps.isDestination(next)) {
        return { method: 'GET', url: next.href };
      }
      request = { method: 'GET', url: next };
      continue;
    }

    const html = await response.text();
    const form = parseForm(html, request.url);
    // form_post: the answer for the client, an error response included (oidc-provider sends those
    // with status 400), is an auto-submitted form to another origin.
    if (form && new URL(form.action).origin !== idpOrigin) {
      return { method: 'POST', url: form.action, body: new URLSearchParams([...form.fields]) };
    }
    if (response.status !== 200) {
      throw new Error(`IdP answered ${response.status} at ${request.url.href}: ${pageText(html)}`);
    }
    if (form && steps.fill(form)) {
      request = { method: 'POST', url: new URL(form.action), body: new URLSearchParams([...form.fields]) };
      continue;
    }
    if (!form && steps.acceptPageWithoutForm) {
      return { method: 'GET', url: request.url.href };
    }
    throw new Error(`unexpected page from the IdP at ${request.url.href}: ${pageText(html)}`);
  }
  throw new Error(`gave up after ${MAX_STEPS} steps starting at ${start.href}`);
}

/** @typedef {{ action: string, fields: Map<string, string> }} Form */

/**
 * The first POST form of a page, with its hidden/text input values. A regex reader is enough:
 * the pages come from our own IdP, whose templates are fixed and escape attribute values.
 * @param {string} html
 * @param {URL} base
 * @returns {Form | undefined}
 */
function parseForm(html, base) {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(match[1] ?? '');
    if ((attrs.get('method') ?? 'get').toLowerCase() !== 'post') continue;
    const fields = new Map();
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const inputAttrs = attributes(input[1] ?? '');
      const name = inputAttrs.get('name');
      if (name) fields.set(name, inputAttrs.get('value') ?? '');
    }
    return { action: new URL(attrs.get('action') ?? base.href, base).href, fields };
  }
  return undefined;
}

/**
 * @param {string} source  the inside of a start tag, after its name
 * @returns {Map<string, string>}
 */
function attributes(source) {
  const attrs = new Map();
  for (const m of source.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs.set((m[1] ?? '').toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

/** @param {string} text */
function decodeEntities(text) {
  /** @type {Record<string, string>} */
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return named[ref.toLowerCase()] ?? whole;
  });
}

/**
 * A short plain-text excerpt of an error page, for error messages.
 * @param {string} html
 */
function pageText(html) {
  const body = html.replace(/<(style|script)\b[\s\S]*?<\/\1>/gi, ' ');
  return decodeEntities(body.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** @param {Headers} headers */
function setCookieLines(headers) {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie();
  // Older runtimes join Set-Cookie lines with ", "; split only where a new `name=` follows,
  // since `Expires` dates contain ", " too.
  const joined = headers.get('set-cookie');
  return joined ? joined.split(/,\s*(?=[^;,=\s]+=)/) : [];
}

/**
 * RFC 6265 §5.1.4 path-match.
 * @param {string} requestPath
 * @param {string} cookiePath
 */
function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/**
 * RFC 6265 §5.1.4 default-path: the request path up to its last `/`.
 * @param {string} requestPath
 */
function defaultPath(requestPath) {
  const slash = requestPath.lastIndexOf('/');
  return slash <= 0 ? '/' : requestPath.slice(0, slash);
}
