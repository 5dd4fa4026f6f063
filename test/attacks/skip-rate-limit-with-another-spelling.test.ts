// Attack: a client over its RATE_LIMITER limit keeps calling a limited endpoint (sign-in, callback, the
// logout channels, the SSF receiver) under another spelling of its path — a trailing slash, a
// percent-encoded letter or underscore — that still reaches the endpoint. The limit belongs to the
// endpoint, so every spelling that is answered by it is limited: never a 302 to the IdP, never the
// endpoint's own answer, once the client is over the limit.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { limiter } from '../support/rate-limiter';

const CLIENT = { accept: 'application/json', 'cf-connecting-ip': '192.0.2.9' };

describe('another spelling of a limited endpoint is limited too', () => {
  for (const [path, method, scope] of [
    ['/_auth/login/?rd=/', 'GET', 'login'],
    ['/_auth/%6cogin?rd=/', 'GET', 'login'],
    ['/%5fauth/login?rd=/', 'GET', 'login'],
    ['/_auth/callback/?code=x&state=y', 'GET', 'callback'],
    ['/_auth/callback/corp/?code=x&state=y', 'GET', 'callback'],
    ['/_auth/backchannel-logout/', 'POST', 'logout'],
    ['/_auth/frontchannel-logout/', 'GET', 'logout'],
    ['/_auth/ssf/', 'POST', 'ssf'],
    ['/_auth/%73sf', 'POST', 'ssf'],
  ] as const) {
    it(`${method} ${path}`, async () => {
      const { binding, keys } = limiter(0);
      const gw = gateway({ RATE_LIMITER: binding });
      const res = await gw.fetch(path, { method, headers: CLIENT, cookies: false });
      expect(res.status).toBe(429);
      expect(((await res.json()) as { error: string }).error).toBe('rate_limited');
      expect(keys).toEqual([`${scope}:192.0.2.9`]);
    });
  }
});
