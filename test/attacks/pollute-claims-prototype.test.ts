// An attacker gets the IdP to assert a claim named `__proto__` (or `constructor`), e.g. a custom
// attribute passed through UserInfo. JSON.parse makes it an ordinary own property, but copying claims
// into `{}` with `obj[name] = value` turns it into the object's prototype: every claim inside it
// (`groups: ["admins"]`, a verified email) would then be readable as the user's own, for `allow` and
// for the identity headers, as long as the session is served from the isolate's cache (SESSION_CACHE_TTL,
// 10 s by default). Claims objects never take a prototype from a claim, and both names are dropped.
import { describe, expect, it } from 'vitest';
import { signInWithScript } from '../support/flows';
import { gateway } from '../support/gateway';
import { NAVIGATE, echoOf, identityHeaders, testIssuer } from './helpers';

const ROUTES = [
  { path: '/admins/**', auth: 'session', allow: { groups: ['admins'] } },
  { path: '/alice/**', auth: 'session', allow: { emails: ['alice@example.com'] } },
];
const INHERITED = { groups: ['admins'], email: 'alice@example.com', email_verified: true, name: 'Alice' };

/** An object literal with a computed key makes `__proto__` an own property, as JSON.parse does. */
function userinfoWith(name: '__proto__' | 'constructor') {
  return { sub: 'mallory', [name]: name === 'constructor' ? { prototype: INHERITED } : INHERITED };
}

describe('a __proto__ or constructor claim', () => {
  it.each(['__proto__', 'constructor'] as const)('%s: grants no group and no email, and adds no identity headers', async (name) => {
    const gw = gateway({ OIDC_ISSUER: testIssuer, ROUTES, SESSION_CACHE_TTL: '60' });
    const userinfo = userinfoWith(name);
    expect(JSON.stringify(userinfo)).toContain(`"${name}"`);
    const { callbackResponse } = await signInWithScript(gw, { idToken: { claims: { sub: 'mallory' } }, userinfo });
    expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);

    expect((await gw.fetch('/admins/x', { headers: NAVIGATE })).status).toBe(403);
    expect((await gw.fetch('/alice/x', { headers: NAVIGATE })).status).toBe(403);
    const sent = identityHeaders(await echoOf(await gw.fetch('/page', { headers: NAVIGATE })));
    expect(sent).toEqual({ 'x-user': 'mallory' });
    const claims = (await (await gw.fetch('/_auth/userinfo', { headers: { accept: 'application/json' } })).json()) as Record<string, unknown>;
    expect(Object.keys(claims).sort()).toEqual(['sub']);
    expect(claims['groups']).toBeUndefined();
  });
});
