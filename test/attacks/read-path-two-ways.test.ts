// An attacker writes a path that the gateway's rules read one way and the origin another: empty
// segments an origin merges (`//admin`), an escape an origin decodes a second time (`%252e%252e`),
// `%3B` an origin takes for `;` and strips with its parameters, a trailing dot or space IIS and
// Windows drop (`/admin./x`), letters a case-insensitive origin folds (`/ADMIN`). The gateway judges
// every plausible reading: when they all fall under one rule the path is forwarded unchanged (sloppy
// legacy links keep working); when they fall under different rules it is refused with 400.
//
// Three outcomes tell the rules apart without signing in: the public rule forwards (the echo upstream
// answers with the path it received), the `api` rule answers 401, the built-in default (a session)
// sends a browser to sign in (302).
import { describe, expect, it } from 'vitest';
import { gateway, type Gateway } from '../support/gateway';
import { NAVIGATE, echoOf } from './helpers';

type Outcome = { kind: 'forward'; path: string } | { kind: 'api' } | { kind: 'default' } | { kind: 'refuse' };
const forward = (path: string): Outcome => ({ kind: 'forward', path });
const api: Outcome = { kind: 'api' };
const other: Outcome = { kind: 'default' };
const refuse: Outcome = { kind: 'refuse' };

async function expectOutcome(gw: Gateway, request: string, outcome: Outcome) {
  const res = await gw.fetch(request, { headers: NAVIGATE, cookies: false });
  switch (outcome.kind) {
    case 'forward':
      expect((await echoOf(res)).path).toBe(outcome.path);
      return;
    case 'api':
      expect(res.status).toBe(401);
      break;
    case 'default':
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).not.toMatch(/^\/\//);
      break;
    case 'refuse':
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('path_invalid');
      return;
  }
  await res.body?.cancel();
}

describe('a case-sensitive site: /public/** public, /admin/** api, the rest needs a session', () => {
  const gw = gateway({
    ROUTES: [
      { path: '/public/**', auth: 'public' },
      { path: '/admin/**', auth: 'api' },
    ],
  });
  const CASES: [request: string, outcome: Outcome, why: string][] = [
    // Empty segments: judged as sent and with empty segments merged (nginx merge_slashes, Apache, most frameworks).
    ['/public//x', forward('/public//x'), 'both readings are public: forwarded as sent'],
    ['/public///a//b/', forward('/public///a//b/'), 'however many'],
    ['/admin//x', api, 'both readings are the api rule'],
    ['//public/x', refuse, 'as sent no rule, merged /public/x'],
    ['//admin/x', refuse, 'as sent no rule, merged /admin/x'],
    ['/x//y', other, 'no rule either way'],
    ['//_auth/login', refuse, 'merged, a gateway endpoint'],
    // One more percent-decoding (origins that decode twice).
    ['/public/%252e%252e/admin/x', refuse, 'decoded twice: /admin/x'],
    ['/public/%252e%252e/x', refuse, 'decoded twice: /x, under no rule'],
    ['/public/..%252Fadmin/x', refuse, 'an encoded slash decoded twice is a slash: /admin/x'],
    ['/%2561dmin/x', refuse, 'decoded twice: /admin/x'],
    ['/public/%2541%2520b', forward('/public/%2541%2520b'), 'decoded twice /public/A b: still public, forwarded as sent'],
    ['/public/100%25', forward('/public/100%25'), 'a literal percent sign'],
    ['/public/%25zz', forward('/public/%25zz'), 'a literal percent sign before non-hex'],
    ['/public/%2500', refuse, 'decoded twice: a NUL (C strings end there)'],
    // `%3B` read as `;`, and `;params` stripped (Tomcat, Jetty).
    ['/admin%3Bx/secret', refuse, 'read as /admin;x/secret, which servlet containers serve as /admin/secret'],
    ['/public%3Bx/y', refuse, 'read as /public/y'],
    ['/public/a%3Bb', forward('/public/a%3Bb'), 'every reading is public'],
    ['/admin/x%3Bjsessionid=1', api, 'every reading is the api rule'],
    ['/admin;x/y', refuse, 'Tomcat reads /admin/y'],
    ['/public/app.css;jsessionid=1', forward('/public/app.css;jsessionid=1'), 'legacy ;jsessionid links keep working'],
    ['/public/..;/admin/x', refuse, '"..;" stays refused'],
    ['/public/..%2Fadmin/x', refuse, 'an encoded slash stays refused'],
    // Trailing dots and spaces (IIS, Windows file names), and NTFS stream suffixes.
    ['/admin./x', refuse, 'IIS reads /admin/x'],
    ['/admin%20/x', refuse, 'likewise with a space'],
    ['/admin.%20./x', refuse, 'and mixed'],
    ['/admin::$INDEX_ALLOCATION/x', refuse, 'NTFS: the directory /admin'],
    ['/public/..%20/admin/x', refuse, 'a ".. " segment is ".." to Windows: /admin/x'],
    ['/public/report.', forward('/public/report.'), 'a trailing dot inside the public area changes nothing'],
    ['/public/my%20file%20', forward('/public/my%20file%20'), 'nor a trailing space'],
    ['/admin/x.', api, 'nor inside the api area'],
    ['/_auth./login', refuse, 'a gateway endpoint to IIS'],
    // Letter case: this site's origin is case-sensitive (the default), so case is not another reading.
    ['/ADMIN/x', other, 'another path on a case-sensitive origin'],
    ['/Public/x', other, 'likewise'],
  ];
  it.each(CASES)('%s → %j (%s)', async (request, outcome) => {
    await expectOutcome(gw, request, outcome);
  });
});

describe('a case-insensitive site (PATH_CASE = "insensitive")', () => {
  const gw = gateway({
    PATH_CASE: 'insensitive',
    ROUTES: [
      { path: '/public/**', auth: 'public' },
      { path: '/Admin/**', auth: 'api' },
      { path: '/Café/**', auth: 'api' },
      { path: '/Docs/**', auth: 'public', path_case: 'sensitive' },
    ],
  });
  const CASES: [request: string, outcome: Outcome, why: string][] = [
    ['/PUBLIC/x', forward('/PUBLIC/x'), 'matched whatever the case, forwarded as sent'],
    ['/admin/x', api, 'the rule is /Admin/**'],
    ['/aDMIN/x', api, 'any case'],
    ['/%41dmin/x', api, 'an encoded letter too'],
    ['/CAF%C3%89/x', api, 'non-ASCII letters fold too (É is é)'],
    ['/Docs/x', forward('/Docs/x'), 'a case-sensitive rule, in its own case'],
    ['/docs/x', refuse, 'the origin serves /Docs/x, which the rule does not match in this case'],
    ['/ADMIN./x', refuse, 'readings still combine: IIS reads /admin/x'],
    ['//ADMIN/x', refuse, 'merged, any case'],
  ];
  it.each(CASES)('%s → %j (%s)', async (request, outcome) => {
    await expectOutcome(gw, request, outcome);
  });
});

describe('a case-insensitive rule on a case-sensitive site (path_case = "insensitive")', () => {
  const gw = gateway({
    ROUTES: [
      { path: '/legacy/admin/**', auth: 'api' },
      { path: '/legacy/**', auth: 'public', path_case: 'insensitive' },
    ],
  });
  const CASES: [request: string, outcome: Outcome, why: string][] = [
    ['/LEGACY/x', forward('/LEGACY/x'), 'the rule matches any case'],
    ['/legacy/admin/x', api, 'the admin area'],
    ['/legacy/ADMIN/x', refuse, 'the case-insensitive origin behind /legacy serves /legacy/admin/x'],
    ['/Other/x', other, 'elsewhere the site is case-sensitive'],
  ];
  it.each(CASES)('%s → %j (%s)', async (request, outcome) => {
    await expectOutcome(gw, request, outcome);
  });
});
