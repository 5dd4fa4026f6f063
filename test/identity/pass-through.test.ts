// Token pass-through per route: off by default, on when a rule asks.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { header, upstreamSees, NAVIGATE } from '../gateway/helpers';
import { configProblems } from '../support/config-errors';

const ROUTES = [
  { path: '/bearer/**', auth: 'session', pass_access_token: 'bearer' },
  { path: '/header/**', auth: 'session', pass_access_token: 'header', pass_id_token: true },
];

describe('token pass-through', () => {
  it('is off by default: no token reaches the upstream, and client-sent token headers are removed', async () => {
    const gw = gateway({ ROUTES });
    await signIn(gw, { user: 'alice' });
    const echo = await upstreamSees(gw, '/plain', { headers: { ...NAVIGATE, 'x-forwarded-access-token': 'forged', 'x-forwarded-id-token': 'forged' } });
    expect(header(echo, 'x-forwarded-access-token')).toBeUndefined();
    expect(header(echo, 'x-forwarded-id-token')).toBeUndefined();
    expect(JSON.stringify(echo.headers)).not.toMatch(/eyJ|forged/);
  });

  it('passes the session’s access token as Authorization: Bearer when the rule says "bearer"', async () => {
    const gw = gateway({ ROUTES });
    await signIn(gw, { user: 'alice' });
    const echo = await upstreamSees(gw, '/bearer/x', { headers: { ...NAVIGATE, authorization: 'Basic Zm9vOmJhcg==' } });
    const auth = header(echo, 'authorization')!;
    expect(auth).toMatch(/^Bearer \S{20,}$/);
    // It is the IdP's real token: UserInfo accepts it.
    const { inject } = await import('vitest');
    const userinfo = await fetch(`${inject('idpIssuer')}/me`, { headers: { authorization: auth } });
    expect(userinfo.status).toBe(200);
    expect(((await userinfo.json()) as { sub: string }).sub).toBe('alice');
  });

  it('passes X-Forwarded-Access-Token and X-Forwarded-Id-Token when the rule says so', async () => {
    const gw = gateway({ ROUTES });
    await signIn(gw, { user: 'bob' });
    const echo = await upstreamSees(gw, '/header/x', { headers: { ...NAVIGATE, 'x-forwarded-access-token': 'forged' } });
    expect(header(echo, 'x-forwarded-access-token')).toMatch(/^\S{20,}$/);
    expect(header(echo, 'x-forwarded-access-token')).not.toBe('forged');
    const idToken = header(echo, 'x-forwarded-id-token')!;
    expect(JSON.parse(atob(idToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sub).toBe('bob');
  });

  it('is refused in config with a bad value', async () => {
    const gw = gateway({ ROUTES: [{ path: '/x', auth: 'session', pass_access_token: 'cookie' }] });
    expect(await configProblems(() => gw.fetch('/x', { headers: { accept: 'application/json' } }))).toMatch(/ROUTES\[0\]\.pass_access_token/);
  });
});
