// A real browser (Debian's Chromium, driven by playwright-core) through the whole demo: the demo site
// behind the gateway, sign-in at the local IdP's own form, the identity the upstream received, the
// gateway's /_auth/userinfo, sign-out through the IdP's end-session confirmation, and sign-in again.
//
// Runs in Node (vitest.browser.config.ts), not in workerd. Without Chromium at /usr/bin/chromium it
// is skipped with a message, except under CI=true, where it fails: CI must run it (.ci/run installs
// Chromium). A screenshot of the signed-in page goes to test-results/browser/signed-in.png.

import { join } from 'node:path';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { CHROMIUM, CHROMIUM_ARGS, haveChromium, inCi, resultsDir } from './chromium.mts';
import { startStack, type Stack } from './stack.mts';

if (!haveChromium && !inCi) {
  console.warn(
    `[browser test] SKIPPED: no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` ` +
      '(never `npx playwright install`); under CI=true this test fails instead of skipping.',
  );
}

describe.skipIf(!haveChromium && !inCi)('a real browser through the gateway', () => {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  /** Requests that failed in the browser, as "url (reason)". */
  const failedRequests: string[] = [];
  /** Console errors and uncaught page errors. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium).`);
    }
    stack = await startStack({ logFile: join(resultsDir, 'wrangler.log') });
    // launch() gives Chromium a fresh user-data-dir of its own (a temporary directory that
    // playwright-core removes when the browser closes).
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
    context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    context.setDefaultTimeout(15_000);
    context.on('requestfailed', (request) => failedRequests.push(`${request.url()} (${request.failure()?.errorText ?? '?'})`));
    context.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()} @ ${message.location().url}`);
    });
    context.on('weberror', (error) => pageErrors.push(`page error: ${error.error().message}`));
  });

  afterAll(async () => {
    // A failing close must not keep the stack from stopping.
    await browser?.close().catch((error: unknown) => console.error('[browser test] closing Chromium:', error));
    await stack?.stop();
  });

  test('alice signs in at the IdP, the site sees her, she signs out, and is asked to sign in again', async () => {
    const { gatewayUrl, idpUrl } = need(stack);
    const page = await need(context).newPage();
    try {
      await journey(page, gatewayUrl, idpUrl);
    } catch (error) {
      // Where the browser was when it went wrong, for whoever reads the CI log.
      await page.screenshot({ path: join(resultsDir, 'failure.png'), fullPage: true }).catch(() => {});
      console.error(`[browser test] failed with the browser at ${page.url()}; screenshot: test-results/browser/failure.png`);
      throw error;
    }

    // Nothing on the way failed to load or threw, except what is off this machine (the IdP's stock
    // web font) and the favicon, which neither the IdP nor the demo site has (a 404 either way).
    const local = (entry: string) => /^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(entry);
    expect(failedRequests.filter(local)).toEqual([]);
    expect(pageErrors.filter((entry) => !/fonts\.googleapis\.com|\/favicon\.ico$/.test(entry))).toEqual([]);
  });
});

/** The user's way through the demo, step by step; any failed step throws. */
async function journey(page: Page, gatewayUrl: string, idpUrl: string) {
  // 1. The demo site through the gateway: not signed in, so off to the IdP's sign-in form.
  await page.goto(`${gatewayUrl}/`);
  await expectSignInForm(page, idpUrl);

  // 2. Sign in as alice by typing into the form and clicking.
  await page.locator('input[name="login"]').pressSequentially('alice');
  await page.locator('input[name="password"]').pressSequentially('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();

  // 3. Back on the demo site, which shows the identity headers it received.
  await page.waitForURL((url) => url.origin === gatewayUrl && url.pathname === '/');
  expect(await heading(page)).toBe('Demo legacy site');
  const shown = await shownHeaders(page);
  expect(shown).toMatchObject({
    'X-User': 'alice',
    'X-User-Email': 'alice@example.com',
    'X-User-Name': 'Alice Admin',
    'X-User-Groups': 'admins,staff',
    'X-Forwarded-Host': new URL(gatewayUrl).host,
    'X-Forwarded-Proto': 'http',
  });
  expect(await page.getByText('No identity headers received').count()).toBe(0);
  // The stylesheet came through the gateway too (a broken page would have no table styling).
  expect(await page.locator('th').first().evaluate((th) => getComputedStyle(th).backgroundColor)).toBe('rgb(243, 243, 243)');
  await page.screenshot({ path: join(resultsDir, 'signed-in.png'), fullPage: true });

  // 4. The gateway's own view of the session: claims, never tokens.
  const userinfo = need(await page.goto(`${gatewayUrl}/_auth/userinfo`));
  expect(userinfo.status()).toBe(200);
  expect(userinfo.headers()['content-type']).toMatch(/^application\/json/);
  const claims = (await userinfo.json()) as Record<string, unknown>;
  expect(claims).toMatchObject({
    sub: 'alice',
    email: 'alice@example.com',
    name: 'Alice Admin',
    groups: ['admins', 'staff'],
  });
  for (const key of Object.keys(claims)) expect(key).not.toMatch(/token/i);

  // 5. Sign out with the demo page's button: the gateway ends its session and sends the browser to
  //    the IdP's end-session confirmation, which returns it to the gateway's signed-out page.
  await page.goto(`${gatewayUrl}/`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.origin === idpUrl);
  expect(await heading(page)).toMatch(/^Sign out of /);
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  // (The IdP may add the `state` the gateway gave it.)
  await page.waitForURL((url) => url.origin === gatewayUrl && url.pathname === '/_auth/signed-out');
  expect(await heading(page)).toBe('You are signed out');

  // 6. Signed out everywhere: the gateway refuses /_auth/userinfo, and visiting the site asks for a
  //    sign-in again (the IdP session is over too, so its form is shown, not a silent sign-in).
  const after = await page.request.get(`${gatewayUrl}/_auth/userinfo`, { maxRedirects: 0 });
  expect(after.status()).toBe(401);
  await page.goto(`${gatewayUrl}/`);
  await expectSignInForm(page, idpUrl);
}

async function expectSignInForm(page: Page, idpUrl: string) {
  await page.waitForURL((url) => url.origin === idpUrl && url.pathname.startsWith('/interaction/'));
  await page.locator('input[name="login"]').waitFor({ state: 'visible' });
  await page.locator('input[name="password"]').waitFor({ state: 'visible' });
}

/** The page's first heading, trimmed. */
async function heading(page: Page): Promise<string> {
  return ((await page.locator('h1').first().textContent()) ?? '').trim();
}

/** The demo page's table of received headers, name → value. */
function shownHeaders(page: Page): Promise<Record<string, string>> {
  return page.$$eval('tr', (rows) =>
    Object.fromEntries(rows.map((row) => [row.querySelector('th')?.textContent ?? '', row.querySelector('td')?.textContent ?? ''])),
  );
}

function need<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error('not set up (see the error of beforeAll)');
  return value;
}
