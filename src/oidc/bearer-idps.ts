import { decodeJwt } from 'jose';
import type { Config } from '../config';
import { withIdp, type Idp } from '../config/idps';
import type { Principal } from '../policy/decide';
import { invalidToken, verifyBearer } from './access-token';
import { getProvider } from './provider';

/**
 * Bearer tokens on an `api` rule whose IdPs are several (docs/protocols.md "Several identity providers"): a JWT
 * is checked by the one IdP whose issuer its `iss` names, against that IdP's own JWKS and `api_audience`
 * (access-token.ts, every check the single IdP gets); its `iss` only picks who checks it, and must then
 * verify there. A token naming an issuer the rule does not accept is refused, never tried elsewhere.
 * An opaque token carries no issuer: it is introspected only where exactly one of the rule's IdPs
 * accepts bearer tokens — sending it to several would hand one IdP's tokens to another (RFC 9700 4.4).
 */

/** As access-token.ts: no parsing of anything larger. */
const MAX_TOKEN_LENGTH = 8192;
const JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export async function verifyBearerAtIdps(config: Config, names: readonly string[] | undefined, token: string, now: number, limit?: () => Promise<void>): Promise<Principal> {
  if (config.idps.length === 1) return withIdpName(await verifyBearer(await getProvider(config), config, token, now, limit), config.idp);
  const accepting = config.idps.filter((idp) => (!names || names.includes(idp.name)) && idp.apiAudience !== undefined);
  if (accepting.length === 0) throw invalidToken('bearer tokens are not accepted here', 'no api_audience among the rule\'s identity providers');
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidToken('the access token is malformed');
  let idp: Idp | undefined;
  if (JWS_SHAPE.test(token)) {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw invalidToken('the access token is malformed');
    }
    idp = accepting.find((candidate) => candidate.issuer === iss);
    if (!idp) throw invalidToken('the access token is not valid', 'iss is not an identity provider of this rule');
  } else {
    if (accepting.length > 1) throw invalidToken('the access token is not valid', 'opaque token on a rule with several identity providers that accept bearer tokens');
    idp = accepting[0]!;
  }
  const view = withIdp(config, idp.name)!;
  return withIdpName(await verifyBearer(await getProvider(view), view, token, now, limit), idp.name);
}

function withIdpName(principal: Principal, idp: string): Principal {
  return { ...principal, idp };
}
