import type { OAuthClientCredentials } from '../../src/config/types.ts';
import { ClientCredentialsTokens } from '../../src/engine/oauth-client.ts';
import { EngineRequestError } from '../../src/errors.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';
import { startTokenServer, type TokenServer } from '../support/token-server.ts';

const JWT_SECRET = 'a-test-secret-of-at-least-32-bytes!';

describe('client credentials tokens', () => {
  let server: TokenServer;
  let now = 1_000_000;

  beforeAll(async () => {
    server = await startTokenServer({ clientId: 'router', clientSecret: 's3cret & more', jwtSecret: JWT_SECRET });
  });

  afterAll(async () => {
    await server.close();
  });

  function client(overrides: Partial<OAuthClientCredentials> = {}): ClientCredentialsTokens {
    const credentials: OAuthClientCredentials = {
      type: 'oauth',
      tokenUrl: server.tokenUrl,
      clientId: 'router',
      clientSecret: 's3cret & more',
      scope: 'engine',
      audience: undefined,
      clientAuthentication: 'basic',
      ...overrides,
    };
    // fake-clock: `now` moves only when a test moves it.
    return new ClientCredentialsTokens(credentials, { timeoutMs: 5_000, now: () => now });
  }

  test('token is kept until shortly before expiry', async () => {
    server.setLifetime(100, 100);
    const tokens = client();

    const first = await tokens.token();
    now += 89_000;
    const cached = await tokens.token();
    now += 2_000;
    const renewed = await tokens.token();

    expect(cached).toBe(first);
    expect(renewed).not.toBe(first);
    expect(tokens.requests).toBe(2);
  });

  test('concurrent callers share one request', async () => {
    const tokens = client();

    const results = await Promise.all([tokens.token(), tokens.token(), tokens.token()]);

    expect(new Set(results).size).toBe(1);
    expect(tokens.requests).toBe(1);
  });

  test('an invalidated token is replaced', async () => {
    const tokens = client();
    const first = await tokens.token();

    tokens.invalidate(first);
    const second = await tokens.token();

    expect(second).not.toBe(first);
    expect(tokens.requests).toBe(2);
  });

  test('credentials in the form body', async () => {
    const tokens = client({ clientAuthentication: 'body' });

    await tokens.token();

    const form = new URLSearchParams(server.requests.at(-1)?.body);
    expect(form.get('client_id')).toBe('router');
    expect(form.get('client_secret')).toBe('s3cret & more');
    expect(form.get('scope')).toBe('engine');
    expect(server.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  test('a refused client names the endpoint error', async () => {
    const tokens = client({ clientSecret: 'wrong' });

    const failure = tokens.token();

    await expect(failure).rejects.toThrow(EngineRequestError);
    await expect(failure).rejects.toThrow(`POST ${server.tokenUrl} (engine.auth.tokenUrl) returned HTTP 401 (invalid_client: unknown client or wrong secret)`);
  });
});

describe('token responses', () => {
  let endpoint: TestServer;
  let reply: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    endpoint = await startTestServer((_request, response) => sendJson(response, reply.status, reply.body));
  });

  afterAll(async () => {
    await endpoint.close();
  });

  function tokensOf(body: unknown, status = 200): ClientCredentialsTokens {
    reply = { status, body };
    return new ClientCredentialsTokens({
      type: 'oauth',
      tokenUrl: `${endpoint.url}/token`,
      clientId: 'router',
      clientSecret: 'secret',
      scope: undefined,
      audience: undefined,
      clientAuthentication: 'basic',
    }, { timeoutMs: 5_000 });
  }

  test('a response without access_token is rejected', async () => {
    await expect(tokensOf({ token_type: 'Bearer' }).token()).rejects.toThrow('without an access_token; check that engine.auth.tokenUrl is the token endpoint');
  });

  test('a token that is not a bearer token is rejected', async () => {
    await expect(tokensOf({ access_token: 'x', token_type: 'mac' }).token()).rejects.toThrow('returned a token of type "mac"; only bearer tokens are supported');
  });

  test('a token without expires_in is kept', async () => {
    const tokens = tokensOf({ access_token: 'forever', token_type: 'bearer' });

    expect(await tokens.token()).toBe('forever');
    expect(await tokens.token()).toBe('forever');
    expect(tokens.requests).toBe(1);
  });
});
