/**
 * An OAuth 2.0 token endpoint on loopback for the engine-auth tests: it
 * grants client credentials (RFC 6749, section 4.4) and issues HS256 JWTs
 * that the bundled engine's bearer-token filter accepts.
 */
import { randomUUID } from 'node:crypto';

import { signJwt } from '../../src/demo/jwt.ts';
import { sendJson, startTestServer, type RecordedRequest } from './http-server.ts';

export interface TokenServerOptions {
  clientId: string;
  clientSecret: string;
  /** Secret the engine was started with. */
  jwtSecret: string;
  audience?: string;
}

export interface TokenServer {
  /** The token endpoint, `http://127.0.0.1:PORT/token`. */
  tokenUrl: string;
  /** Token requests received, granted or not. */
  readonly requests: readonly RecordedRequest[];
  /** Tokens granted so far. */
  readonly granted: number;
  /**
   * Sets the lifetime of the next tokens: `validSeconds` goes into the JWT's
   * `exp`, which the engine checks, and `announcedSeconds` into `expires_in`,
   * which the client trusts. An announcement longer than the validity makes
   * the engine reject a token that the client still considers valid.
   */
  setLifetime(validSeconds: number, announcedSeconds: number): void;
  close(): Promise<void>;
}

/** Reads the client credentials from HTTP basic auth or, failing that, from the form (section 2.3.1). */
function clientOf(request: RecordedRequest, form: URLSearchParams): { id: string | null; secret: string | null } {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Basic ')) {
    const [id = '', secret = ''] = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8').split(':');
    const decode = (value: string) => new URLSearchParams(`v=${value}`).get('v');
    return { id: decode(id), secret: decode(secret) };
  }
  return { id: form.get('client_id'), secret: form.get('client_secret') };
}

/** Starts the token endpoint on 127.0.0.1, port 0; tokens live 60 s until {@link TokenServer.setLifetime} sets another lifetime. */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  let validSeconds = 60;
  let announcedSeconds = 60;
  let granted = 0;

  const server = await startTestServer((request, response) => {
    const form = new URLSearchParams(request.body);
    if (request.method !== 'POST' || request.url !== '/token' || form.get('grant_type') !== 'client_credentials') {
      sendJson(response, 400, { error: 'unsupported_grant_type' });
      return;
    }
    const client = clientOf(request, form);
    if (client.id !== options.clientId || client.secret !== options.clientSecret) {
      sendJson(response, 401, { error: 'invalid_client', error_description: 'unknown client or wrong secret' });
      return;
    }

    granted += 1;
    // Rounded up, so the token is valid for at least validSeconds.
    const exp = Math.ceil(Date.now() / 1000 + validSeconds);
    // jti makes every token distinct, even two issued within one second.
    const token = signJwt(options.jwtSecret, { sub: client.id, aud: options.audience, exp, iat: Math.floor(Date.now() / 1000), jti: randomUUID() });
    sendJson(response, 200, { access_token: token, token_type: 'Bearer', expires_in: announcedSeconds });
  });

  return {
    tokenUrl: `${server.url}/token`,
    get requests() {
      return server.requests;
    },
    get granted() {
      return granted;
    },
    setLifetime(valid: number, announced: number) {
      validSeconds = valid;
      announcedSeconds = announced;
    },
    close: () => server.close(),
  };
}
