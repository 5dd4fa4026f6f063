// A real browser (Debian's Chromium, driven by playwright-core) on the gateway's own pages, branded
// (BRAND_NAME, BRAND_COLOR, BRAND_SUPPORT_URL): alice opens a page her groups do not allow, the 403
// page says who she is signed in as, keyboard focus is visible, "Sign in as someone else" makes the
// IdP ask for credentials again (prompt=login), and "Sign out" (a plain form, no script) ends the
// session at the gateway and the IdP. Screenshots go to test-results/browser/forbidden*.png.
//
// Runs in Node (vitest.browser.config.ts); skipped without Chromium at /usr/bin/chromium except under
// CI=true, as test/browser/signin.e2e.mts.

import { join } from 'node:path';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { CHROMIUM, CHROMIUM_ARGS, haveChromium, inCi, resultsDir } from './chromium.mts';
import { startStack, type Stack } from './stack.mts';

const BRAND = {
  BRAND_NAME: 'Acme <Intranet>',
  BRAND_COLOR: '#ffd400',
  BRAND_SUPPORT_URL: 'https://help.acme.example/it',
};
/** Nobody in the demo IdP is an auditor: /audit/** refuses everyone who signs in. */
const ROUTES = JSON.stringify([{ path: '/audit/**', auth: 'session', allow: { groups: ['auditors'] } }]);

describe.skipIf(!haveChromium && !inCi)('the gateway’s pages in a real browser', () => {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  /** Console errors and uncaught page errors. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium).`);
    stack = await startStack({ logFile: join(resultsDir, 'wrangler-pages.log'), vars: { ...BRAND, ROUTES } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
    // No JavaScript at all: the pages must work without it (the IdP's own pages are not ours, but
    // oidc-provider's interaction forms are plain HTML too).
    context = await browser.newContext({ viewport: { width: 900, height: 640 }, javaScriptEnabled: false });
    context.setDefaultTimeout(15_000);
    context.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()} @ ${message.location().url}`);
    });
  });

  afterAll(async () => {
    await browser?.close().catch((error: unknown) => console.error('[browser test] closing Chromium:', error));
    await stack?.stop();
  });

  test('a branded 403 says who is signed in, and both ways out work without JavaScript', async () => {
    const { gatewayUrl, idpUrl } = need(stack);
    const page = await need(context).newPage();
    try {
      await forbiddenJourney(page, gatewayUrl, idpUrl);
    } catch (error) {
      await page.screenshot({ path: join(resultsDir, 'failure-pages.png'), fullPage: true }).catch(() => {});
      console.error(`[browser test] page errors: ${pageErrors.join('\n')}`);
      console.error(`[browser test] failed with the browser at ${page.url()}; screenshot: test-results/browser/failure-pages.png`);
      throw error;
    }
    // The pages' CSP would report a blocked style, resource or form redirect (sign-out) as a console
    // error; the 403 itself is logged as a failed load, and the IdP's web font is off this machine.
    expect(pageErrors.filter((entry) => !/fonts\.googleapis\.com|\/favicon\.ico$|status of 403 \(Forbidden\) @ \S+\/audit\/report$/.test(entry))).toEqual([]);
  });
});

async function forbiddenJourney(page: Page, gatewayUrl: string, idpUrl: string) {
  // 1. A page alice's groups do not allow: sign in first, then the 403 page.
  const first = await page.goto(`${gatewayUrl}/audit/report`);
  expect(first?.url().startsWith(idpUrl)).toBe(true);
  await signInAtIdp(page, idpUrl, 'alice');
  await page.waitForURL((url) => url.origin === gatewayUrl && url.pathname === '/audit/report');
  await expectForbiddenPage(page, 'Alice Admin');
  await page.screenshot({ path: join(resultsDir, 'forbidden.png'), fullPage: true });

  // 2. The keyboard reaches the first way out, and its focus is visible.
  await page.keyboard.press('Tab');
  // (playwright evaluates in a world of its own, even with the pages' JavaScript off)
  const focused = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    return { text: el.textContent, outline: `${style.outlineStyle} ${style.outlineWidth}` };
  });
  expect(focused).toEqual({ text: 'Sign in as someone else', outline: 'solid 3px' });
  await page.screenshot({ path: join(resultsDir, 'forbidden-focus.png'), fullPage: true });

  // 3. "Sign in as someone else": the IdP asks for credentials although its session is still on.
  await page.getByRole('link', { name: 'Sign in as someone else' }).click();
  await page.waitForURL((url) => url.origin === idpUrl && url.pathname.startsWith('/interaction/'));
  await signInAtIdp(page, idpUrl, 'bob');
  await page.waitForURL((url) => url.origin === gatewayUrl && url.pathname === '/audit/report');
  await expectForbiddenPage(page, 'Bob Builder');

  // 4. "Sign out": the form posts to /_auth/logout, the IdP confirms, the signed-out page is branded too.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.origin === idpUrl);
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL((url) => url.origin === gatewayUrl && url.pathname === '/_auth/signed-out');
  expect((await page.locator('h1').textContent())?.trim()).toBe('You are signed out');
  expect((await page.locator('header').textContent())?.trim()).toBe('Acme <Intranet>');
  await page.screenshot({ path: join(resultsDir, 'signed-out-branded.png'), fullPage: true });
  const after = await page.request.get(`${gatewayUrl}/_auth/userinfo`, { maxRedirects: 0 });
  expect(after.status()).toBe(401);
}

async function expectForbiddenPage(page: Page, name: string) {
  expect((await page.locator('h1').textContent())?.trim()).toBe('Access denied');
  // The brand's name as text (escaped: "<Intranet>" is shown, not parsed as a tag).
  expect((await page.locator('header').textContent())?.trim()).toBe('Acme <Intranet>');
  expect(await page.title()).toBe('Access denied · Acme <Intranet>');
  await page.getByText(`Signed in as ${name}.`, { exact: true }).waitFor({ state: 'visible' });
  // Black text on the yellow brand color (AA), in the header and on the buttons.
  const header = await page.locator('header').evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
  expect(header).toEqual(['rgb(255, 212, 0)', 'rgb(0, 0, 0)']);
  const button = await page.getByRole('button', { name: 'Sign out' }).evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
  expect(button).toEqual(['rgb(255, 212, 0)', 'rgb(0, 0, 0)']);
  const support = page.getByRole('link', { name: 'Contact support' });
  expect(await support.getAttribute('href')).toBe('https://help.acme.example/it');
  expect(await page.getByRole('link', { name: 'Sign in as someone else' }).getAttribute('href')).toBe('/_auth/login?rd=%2Faudit%2Freport&prompt=login');
}

async function signInAtIdp(page: Page, idpUrl: string, user: string) {
  await page.waitForURL((url) => url.origin === idpUrl && url.pathname.startsWith('/interaction/'));
  await page.locator('input[name="login"]').pressSequentially(user);
  await page.locator('input[name="password"]').pressSequentially('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // Without JavaScript, oidc-provider's way back (its own page, not ours) is a form with a "Continue" button.
  await page.waitForURL((url) => !(url.origin === idpUrl && url.pathname.startsWith('/interaction/')));
  const onward = page.getByRole('button', { name: 'Continue' });
  if (new URL(page.url()).origin === idpUrl && (await onward.count()) > 0) await onward.click();
}

function need<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error('not set up (see the error of beforeAll)');
  return value;
}
