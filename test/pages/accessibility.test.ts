// The gateway's pages stay usable for everyone whatever the brand: a language, landmarks and one
// heading, text on the brand color at WCAG AA contrast (computed here independently), a visible
// focus outline, and no script (everything works without JavaScript).
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { CORP, PARTNER, idpsGateway } from '../idps/helpers';
import { BRAND, NAVIGATE, contrastRatio, signedInAs } from './helpers';

const pages: [string, (overrides: Record<string, unknown>) => Promise<Response>][] = [
  ['403', async (o) => (await signedInAs('bob', o)).fetch('/admin/x', { headers: NAVIGATE })],
  ['404', (o) => gateway(o).fetch('/_auth/nope', { headers: NAVIGATE })],
  ['signed out', (o) => gateway(o).fetch('/_auth/signed-out', { headers: NAVIGATE })],
  ['chooser', (o) => idpsGateway([CORP, PARTNER], o).fetch('/_auth/login?rd=%2F', { headers: NAVIGATE })],
  ['configuration error', (o) => gateway({ ...o, SESSION_SECRET: 'too-short' }).fetch('https://app.example.com/', { headers: NAVIGATE })],
];

describe('pages', () => {
  it.each(pages)('%s: lang, landmarks, one h1, no script', async (_label, load) => {
    const html = await (await load(BRAND)).text();
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html.match(/<main>/g)).toHaveLength(1);
    expect(html).toContain('<header>');
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script|\son[a-z]+=|javascript:/i);
    expect(html).toContain(':focus-visible{outline:3px solid #1f2937');
  });

  it.each(['#ffd400', '#1a237e', '#777777', '#808080', '#00ff00', '#ff0000', '#0000ff', '#2e7d32', '#fff', '#000'])(
    'text on brand color %s reaches 4.5:1 (header and buttons)',
    async (color) => {
      const html = await (await gateway({ BRAND_NAME: 'Acme', BRAND_COLOR: color }).fetch('/_auth/nope', { headers: NAVIGATE })).text();
      const pairs = [...html.matchAll(/background:(#[0-9a-f]{3,6});color:(#[0-9a-f]{6})/g)];
      expect(pairs.length).toBeGreaterThanOrEqual(2); // the header and the buttons
      for (const [, background, text] of pairs) expect(contrastRatio(background!, text!), `${text} on ${background}`).toBeGreaterThanOrEqual(4.5);
    },
  );

  it('without a brand, the buttons keep their blue with white text (AA)', async () => {
    const html = await (await gateway().fetch('/_auth/nope', { headers: NAVIGATE })).text();
    expect(html).toContain('background:#2563eb;color:#ffffff');
    expect(contrastRatio('#2563eb', '#ffffff')).toBeGreaterThanOrEqual(4.5);
    expect(html).not.toContain('<header>');
  });
});
