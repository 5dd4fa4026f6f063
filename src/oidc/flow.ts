import type * as oauth from 'oauth4webapi';

/** The flow settings are read with the rest of the configuration (config/protocol.ts); this file checks them against the IdP. */
export type { ProtocolSettings } from '../config/protocol';
import type { ParUse, ResponseMode, ResponseType } from '../config/schema';
import { configProblem } from '../http/errors';
import { settingKey, type Idp } from '../config/idps';

/** Response types as sets: `code id_token` and `id_token code` are the same (RFC 6749 3.1.1). */
function sameResponseType(a: string, b: string): boolean {
  const x = a.split(' ').filter(Boolean).sort().join(' ');
  const y = b.split(' ').filter(Boolean).sort().join(' ');
  return x === y;
}

export interface ProtocolConfig {
  responseType: ResponseType;
  responseMode: ResponseMode;
  usePar: ParUse;
  /** Which IdP this is, so a problem names its key (`IDPS[corp].response_mode`). */
  idp: string;
  idps: readonly Idp[];
}

/**
 * The configured flow against what the IdP advertises (Discovery 3), so a mismatch is a named
 * configuration error at the first sign-in rather than an error page at the IdP. Metadata the IdP
 * leaves out is not held against it, except PAR, which needs its endpoint.
 */
export function checkIdpSupport(config: ProtocolConfig, as: oauth.AuthorizationServer): void {
  const types = as.response_types_supported;
  if (Array.isArray(types) && !types.some((t) => typeof t === 'string' && sameResponseType(t, config.responseType))) {
    throw configProblem(settingKey(config, 'OIDC_RESPONSE_TYPE'), `is "${config.responseType}", but the identity provider supports only ${types.map((t) => `"${t}"`).join(', ')}`);
  }
  const modes = as.response_modes_supported;
  if (config.responseMode === 'form_post' && Array.isArray(modes) && !modes.includes('form_post')) {
    throw configProblem(settingKey(config, 'OIDC_RESPONSE_MODE'), `is form_post, but the identity provider supports only ${modes.join(', ')}`);
  }
}

/** RFC 9126: whether this sign-in pushes its request first. */
export function usesPar(config: ProtocolConfig, as: oauth.AuthorizationServer): boolean {
  const endpoint = typeof as.pushed_authorization_request_endpoint === 'string';
  const required = as.require_pushed_authorization_requests === true;
  switch (config.usePar) {
    case 'never':
      if (required) throw configProblem(settingKey(config, 'OIDC_USE_PAR'), 'is never, but the identity provider requires pushed authorization requests (require_pushed_authorization_requests); use auto');
      return false;
    case 'always':
      if (!endpoint) throw configProblem(settingKey(config, 'OIDC_USE_PAR'), 'is always, but the identity provider advertises no pushed_authorization_request_endpoint; use auto or never');
      return true;
    case 'auto':
      if (required && !endpoint) throw configProblem(settingKey(config, 'OIDC_USE_PAR'), 'the identity provider requires pushed authorization requests but advertises no pushed_authorization_request_endpoint');
      return required;
  }
}
