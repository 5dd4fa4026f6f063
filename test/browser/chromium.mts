// Debian's Chromium for the browser tests (signin.e2e.mts, pages.e2e.mts): where it is, how it is
// launched, where screenshots go, and whether a missing browser skips (locally) or fails (CI).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Hermetic: no name resolves except localhost, so nothing leaves the machine (the IdP's stock
  // login page @imports a web font from fonts.googleapis.com; it fails at once instead of hanging).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const resultsDir = join(root, 'test-results', 'browser');
export const inCi = process.env['CI'] === 'true' || process.env['CI'] === '1';
export const haveChromium = existsSync(CHROMIUM);
