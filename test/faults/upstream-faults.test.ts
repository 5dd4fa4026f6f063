// The site behind the gateway fails: down, slow, dropping the connection, or answering a huge or
// slowly streamed body. Failures are a clear page (503 unreachable, 504 no response headers within
// UPSTREAM_TIMEOUT); the timeout covers the response headers only, so long downloads and event
// streams keep flowing; bodies are streamed both ways, never buffered whole.
import { describe, expect, it } from 'vitest';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { API, NAVIGATE, expectReadableRefusal, testIssuer } from './helpers';
import { configProblems } from '../support/config-errors';

async function signedIn(overrides: Record<string, unknown> = {}): Promise<Gateway> {
  const gw = gateway({ OIDC_ISSUER: testIssuer, ...overrides });
  const { callbackResponse } = await signInWithScript(gw);
  expect(callbackResponse.status).toBe(303);
  return gw;
}

describe('the upstream fails', () => {
  it('down (connection refused): 503 page for browsers, JSON for programs', async () => {
    const gw = await signedIn({ UPSTREAM_URL: 'http://127.0.0.1:1' });
    await expectReadableRefusal(await gw.fetch('/page', { headers: NAVIGATE }), 503, 'upstream_unreachable', 'html');
    await expectReadableRefusal(await gw.fetch('/page', { headers: API }), 503, 'upstream_unreachable', 'json');
  });

  it('dropping the connection without an answer: 503', async () => {
    const gw = await signedIn();
    await expectReadableRefusal(await gw.fetch('/reset', { headers: NAVIGATE }), 503, 'upstream_unreachable', 'html');
  });

  it('slower than UPSTREAM_TIMEOUT to send its headers: 504 after that long, not later', async () => {
    const gw = await signedIn({ UPSTREAM_TIMEOUT: '1' });
    const started = Date.now();
    const res = await gw.fetch('/slow?ms=4000', { headers: NAVIGATE });
    expect(Date.now() - started).toBeLessThan(2500);
    await expectReadableRefusal(res, 504, 'upstream_timeout', 'html');
  });

  it('slow but within UPSTREAM_TIMEOUT: answered normally', async () => {
    const gw = await signedIn({ UPSTREAM_TIMEOUT: '3' });
    expect((await gw.fetch('/slow?ms=1200', { headers: API })).status).toBe(200);
  });

  it('UPSTREAM_TIMEOUT is validated like every setting', async () => {
    for (const value of ['0', 'soon', '601']) {
      expect(await configProblems(() => gateway({ UPSTREAM_TIMEOUT: value }).fetch('/page', { headers: API }))).toContain('UPSTREAM_TIMEOUT');
    }
  });
});

describe('bodies are streamed', () => {
  it('an event stream longer than UPSTREAM_TIMEOUT flows to the end; its first event arrives at once', async () => {
    const gw = await signedIn({ UPSTREAM_TIMEOUT: '1' });
    const started = Date.now();
    const res = await gw.fetch('/sse?n=3&ms=800', { headers: { ...NAVIGATE, accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('data: event 0');
    expect(Date.now() - started, 'the first event is not held back until the stream ends').toBeLessThan(700);
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain('data: event 2');
    expect(Date.now() - started, 'longer than UPSTREAM_TIMEOUT, and not cut off').toBeGreaterThan(1500);
  });

  it('a 64 MiB response arrives whole', async () => {
    const gw = await signedIn();
    const res = await gw.fetch('/huge?mb=64', { headers: API });
    expect(res.status).toBe(200);
    let bytes = 0;
    const reader = res.body!.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.byteLength;
    expect(bytes).toBe(64 * 1024 * 1024);
  });

  it('a 4 MiB request body reaches the upstream whole', async () => {
    const gw = await signedIn();
    const body = 'b'.repeat(4 * 1024 * 1024);
    const res = await gw.fetch('/upload', { method: 'POST', headers: { ...API, 'content-type': 'application/octet-stream' }, body });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { body: string }).body.length).toBe(body.length);
  });
});
