// Independent clients for bulwark's interop tests, driven by tests/e2e/test_interop.py:
//   keygen DIR                                   ES256 key of a test identity provider (jose):
//                                                DIR/idp-private.json, DIR/idp-jwks.json
//   sign DIR ISS AUD SUB SCOPE                   prints a user access token signed with it
//   verify JWKS_URL BUNDLE TOKEN ISS AUD TYP     jose jwtVerify against the JWKS fetched over
//                                                HTTPS, trusting only BUNDLE; prints the result
//   client-credentials ISSUER BUNDLE CERT KEY ID openid-client: discovery, then the
//                                                client_credentials grant with the SVID as TLS
//                                                client certificate (tls_client_auth)
//   oidc-login ISSUER BUNDLE CLIENT_ID SECRET REDIRECT COOKIE
//                                                openid-client: discovery, an authorization
//                                                URL with PKCE S256, state and nonce; the
//                                                browser's GET (with the login COOKIE) done
//                                                here; callback (iss, state, ID token
//                                                validated), userinfo, one refresh
//   oidc-refresh ISSUER BUNDLE CLIENT_ID SECRET REFRESH_TOKEN [COUNT]
//                                                COUNT concurrent refreshes (default 1) with
//                                                the same refresh token; prints each outcome
// Output is one JSON object on stdout; failures exit 1 with the error on stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import * as jose from 'jose';
import { Issuer, custom, generators } from 'openid-client';

async function keygen(dir) {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  jwk.alg = 'ES256';
  const { d, ...pub } = jwk;
  writeFileSync(`${dir}/idp-private.json`, JSON.stringify(jwk), { mode: 0o600 });
  writeFileSync(`${dir}/idp-jwks.json`, JSON.stringify({ keys: [{ ...pub, use: 'sig' }] }));
  return { kid: jwk.kid };
}

async function sign(dir, iss, aud, sub, scope) {
  const jwk = JSON.parse(readFileSync(`${dir}/idp-private.json`, 'utf8'));
  const key = await jose.importJWK(jwk, 'ES256');
  const token = await new jose.SignJWT({ scope })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(iss).setAudience(aud).setSubject(sub).setIssuedAt().setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(key);
  return { token };
}

async function verify(jwksUrl, bundle, token, issuer, audience, typ) {
  const agent = new https.Agent({ ca: readFileSync(bundle) });
  const jwks = jose.createRemoteJWKSet(new URL(jwksUrl), { agent });
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer, audience, typ, algorithms: ['ES256'],
  });
  return { header: protectedHeader, claims: payload };
}

async function clientCredentials(issuerUrl, bundle, cert, key, clientId) {
  const ca = readFileSync(bundle);
  custom.setHttpOptionsDefaults({ ca, timeout: 10000 });
  const issuer = await Issuer.discover(issuerUrl);
  const client = new issuer.Client({
    client_id: clientId,
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_certificate_bound_access_tokens: true,
  });
  const tls = { cert: readFileSync(cert), key: readFileSync(key), ca };
  client[custom.http_options] = (url, options) => ({ ...options, ...tls });
  const tokens = await client.grant({ grant_type: 'client_credentials', scope: 'orders:read' });
  return { metadata: issuer.metadata, tokens };
}

async function oidcClient(issuerUrl, bundle, clientId, secret, redirect) {
  custom.setHttpOptionsDefaults({ ca: readFileSync(bundle), timeout: 10000 });
  const issuer = await Issuer.discover(issuerUrl);
  const client = new issuer.Client({
    client_id: clientId, client_secret: secret, redirect_uris: redirect ? [redirect] : [],
    response_types: ['code'], id_token_signed_response_alg: 'ES256',
    token_endpoint_auth_method: 'client_secret_basic',
  });
  return { issuer, client };
}

// The browser's part: GET the authorization URL with the login cookie; return the Location.
function browserGet(url, bundle, cookie) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: readFileSync(bundle), headers: { cookie } }, (res) => {
      res.resume();
      if (res.statusCode !== 302) reject(new Error(`authorize answered ${res.statusCode}`));
      else resolve(res.headers.location);
    });
    req.on('error', reject);
  });
}

async function oidcLogin(issuerUrl, bundle, clientId, secret, redirect, cookie) {
  const { issuer, client } = await oidcClient(issuerUrl, bundle, clientId, secret, redirect);
  const code_verifier = generators.codeVerifier();
  const state = generators.state();
  const nonce = generators.nonce();
  const url = client.authorizationUrl({
    scope: 'openid email', code_challenge: generators.codeChallenge(code_verifier),
    code_challenge_method: 'S256', state, nonce,
  });
  const location = await browserGet(url, bundle, `__Host-bulwark-login=${cookie}`);
  const params = client.callbackParams(location);
  const tokens = await client.callback(redirect, params, { code_verifier, state, nonce });
  const claims = tokens.claims();  // the ID token, validated by openid-client
  const userinfo = await client.userinfo(tokens);
  const refreshed = await client.refresh(tokens.refresh_token);
  return {
    metadata: issuer.metadata, location, claims, userinfo,
    tokens: { access_token: tokens.access_token, refresh_token: tokens.refresh_token },
    refreshed: {
      access_token: refreshed.access_token, refresh_token: refreshed.refresh_token,
      claims: refreshed.claims(),
    },
  };
}

async function oidcRefresh(issuerUrl, bundle, clientId, secret, refreshToken, count = '1') {
  const { client } = await oidcClient(issuerUrl, bundle, clientId, secret, '');
  const attempts = Array.from({ length: Number(count) }, () => client.refresh(refreshToken));
  const results = await Promise.allSettled(attempts);
  return {
    results: results.map((r) => (r.status === 'fulfilled'
      ? { ok: true, refresh_token: r.value.refresh_token, sub: r.value.claims().sub }
      : { ok: false, error: r.reason.error || r.reason.message })),
  };
}

const commands = {
  keygen, sign, verify, 'client-credentials': clientCredentials, 'oidc-login': oidcLogin,
  'oidc-refresh': oidcRefresh,
};
const [command, ...args] = process.argv.slice(2);
try {
  if (!commands[command]) throw new Error(`unknown command ${command}`);
  process.stdout.write(JSON.stringify(await commands[command](...args)) + '\n');
} catch (err) {
  process.stderr.write(`${err.name}: ${err.message}${err.code ? ` (${err.code})` : ''}\n`);
  process.exit(1);
}
