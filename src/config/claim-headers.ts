import type { ClaimHeader } from '../policy/identity';

/**
 * CLAIM_HEADERS: `{ department = "X-User-Department" }` (a TOML table) or the same as a JSON
 * string. Header names are checked here so a mapping can never overwrite something the upstream
 * relies on for other reasons (Host, Cookie, Authorization…) or one of the gateway's own headers.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const RESERVED = new Set([
  'x-user', 'x-user-email', 'x-user-name', 'x-user-groups', 'x-user-jwt',
  'host', 'cookie', 'authorization', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'content-length', 'content-type', 'content-encoding', 'forwarded',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-access-token', 'x-forwarded-id-token',
]);

export function parseClaimHeaders(raw: unknown): { claimHeaders: ClaimHeader[] } | { problem: string } {
  if (raw === undefined || raw === null || raw === '') return { claimHeaders: [] };
  return parseClaimHeaderTable(raw);
}

/** Apart from the unset case, which then never compiles it (a fresh isolate compiles a function whole on its first call). */
function parseClaimHeaderTable(raw: unknown): { claimHeaders: ClaimHeader[] } | { problem: string } {
  let table = raw;
  if (typeof raw === 'string') {
    try {
      table = JSON.parse(raw);
    } catch {
      return { problem: 'is not valid JSON; expected a table of claim = "Header-Name"' };
    }
  }
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    return { problem: 'expected a table of claim = "Header-Name", e.g. { department = "X-User-Department" }' };
  }
  const claimHeaders: ClaimHeader[] = [];
  const seen = new Set<string>();
  for (const claim of Object.keys(table)) {
    const header = (table as Record<string, unknown>)[claim];
    if (claim === '' || claim.length > 256) return { problem: 'has an empty or overlong claim name' };
    if (typeof header !== 'string' || !TOKEN.test(header)) return { problem: `${claim}: expected a header name such as "X-User-Department"` };
    const lower = header.toLowerCase();
    if (RESERVED.has(lower) || lower.startsWith('content-') || lower.startsWith('proxy-') || lower.startsWith('sec-')) {
      return { problem: `${claim}: "${header}" is reserved; pick another header name` };
    }
    if (seen.has(lower)) return { problem: `${claim}: "${header}" is used twice` };
    seen.add(lower);
    claimHeaders.push({ claim, header: lower });
  }
  return { claimHeaders };
}
