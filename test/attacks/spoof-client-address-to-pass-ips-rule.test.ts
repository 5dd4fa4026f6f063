// An attacker outside the office network sends the headers proxies and frameworks read as "the client's
// address" (X-Forwarded-For, True-Client-IP, X-Real-IP, Forwarded…) naming an office address, hoping to
// pass an `ips` condition, or to dodge a `deny` on their own address. Only CF-Connecting-IP counts:
// Cloudflare sets it and overwrites what a client sends in it.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/gateway';
import { NAVIGATE, signedInAs } from '../routes/helpers';

const ROUTES = [
  { path: '/office/**', auth: 'session', allow: { ips: ['203.0.113.0/24'] } },
  { path: '/either/**', auth: 'session', allow_any: [{ groups: ['admins'] }, { ips: ['203.0.113.0/24'] }] },
  { path: '/blocked/**', auth: 'session', deny: { ips: ['198.51.100.0/24'] } },
];
const OFFICE = '203.0.113.7';
const ATTACKER = '198.51.100.23';

const SPOOFS: Record<string, string> = {
  'x-forwarded-for': OFFICE,
  'true-client-ip': OFFICE,
  'x-real-ip': OFFICE,
  'x-client-ip': OFFICE,
  'client-ip': OFFICE,
  forwarded: `for=${OFFICE}`,
  'x-cluster-client-ip': OFFICE,
  'cf-connecting-ipv6': '::ffff:203.0.113.7',
  'cf-pseudo-ipv4': OFFICE,
};

let bob: Gateway;
beforeAll(async () => {
  bob = await signedInAs('bob', ROUTES); // staff, not admins
});

async function statusOf(path: string, headers: Record<string, string>): Promise<number> {
  const res = await bob.fetch(path, { headers: { ...NAVIGATE, ...headers } });
  await res.body?.cancel();
  return res.status;
}

describe('spoofed client-address headers', () => {
  it('do not pass an allow ips condition (with or without CF-Connecting-IP)', async () => {
    expect(await statusOf('/office/x', SPOOFS)).toBe(403);
    expect(await statusOf('/office/x', { ...SPOOFS, 'cf-connecting-ip': ATTACKER })).toBe(403);
    expect(await statusOf('/either/x', { ...SPOOFS, 'cf-connecting-ip': ATTACKER })).toBe(403);
    expect(await statusOf('/office/x', { 'cf-connecting-ip': OFFICE })).toBe(200);
  });

  it('do not dodge a deny on the attacker’s own address', async () => {
    expect(await statusOf('/blocked/x', { ...SPOOFS, 'cf-connecting-ip': ATTACKER })).toBe(403);
    expect(await statusOf('/blocked/x', { 'cf-connecting-ip': OFFICE })).toBe(200);
  });

  it('a CF-Connecting-IP that is not one address is no address: allow fails, deny holds', async () => {
    for (const odd of [`${OFFICE}, ${ATTACKER}`, `${OFFICE}.`, '203.0.113.07', '203.0.113.7%0', 'unknown']) {
      expect(await statusOf('/office/x', { 'cf-connecting-ip': odd }), odd).toBe(403);
      expect(await statusOf('/blocked/x', { 'cf-connecting-ip': odd }), odd).toBe(403);
    }
  });
});
