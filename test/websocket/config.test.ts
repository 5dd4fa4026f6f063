// WEBSOCKET_CHECK_INTERVAL: whole seconds, 1–300; anything else is refused by name.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { configProblems } from '../support/config-errors';
import { API } from '../support/lifecycle';

describe('WEBSOCKET_CHECK_INTERVAL', () => {
  for (const value of ['0', '301', '0.5', 'soon']) {
    it(`refuses ${JSON.stringify(value)}, by name`, async () => {
      expect(await configProblems(() => gateway({ WEBSOCKET_CHECK_INTERVAL: value }).fetch('/', { headers: API }))).toMatch(/WEBSOCKET_CHECK_INTERVAL: /);
    });
  }

  it('refuses a misspelt WEBSOCKET_ setting rather than ignoring it', async () => {
    expect(await configProblems(() => gateway({ WEBSOCKET_CHECK_INTERVALS: '5' }).fetch('/', { headers: API }))).toMatch(/WEBSOCKET_CHECK_INTERVALS: is not a setting/);
  });
});
