/**
 * The Worker's bindings as the gateway sees them. Settings are validated by `config/`, so everything
 * but the bindings is `unknown` here: nothing reads a raw setting without going through the schema.
 */
export interface Env {
  SESSIONS: KVNamespace;
  [key: string]: unknown;
}
