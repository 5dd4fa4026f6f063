// Small helpers shared by the gateway's end-to-end tests (run inside workerd).
import type { EchoBody } from '../setup/protocol';
import type { Gateway } from '../support/gateway';

export const NAVIGATE = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' } as const;
export const API = { accept: 'application/json' } as const;

/** GET a path through the gateway and read what the echo upstream received. */
export async function upstreamSees(gw: Gateway, path: string, init: RequestInit = {}): Promise<EchoBody> {
  const res = await gw.fetch(path, { headers: NAVIGATE, ...init });
  if (res.status !== 200) throw new Error(`expected the upstream's 200 for ${path}, got ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as EchoBody;
}

/** The single value of a header the upstream received (Node lower-cases names). */
export function header(echo: EchoBody, name: string): string | undefined {
  const value = echo.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
