// SAP's own client libraries (pinned in package-lock.json) against the sandbox:
// run by tests/app/judged.rs, which starts the sandbox and reads the JSON this prints.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import xssec from '@sap/xssec';
import connectivity from '@sap-cloud-sdk/connectivity';
// The SDK's own find-without-token call (what getDestination runs first).
import internal from '@sap-cloud-sdk/connectivity/internal.js';

const { getAllDestinationsFromDestinationService, getDestination } = connectivity;
const { fetchDestinationWithoutTokenRetrieval, fetchDestinationWithTokenRetrieval } = internal;

const { SANDBOX, CERT, KEY, DESTINATION, USER_EMAIL, USER_PASSWORD } = process.env;
const sandbox = new URL(SANDBOX);
const seen = [];

// xssec fetches keys from https://{uaadomain}: an HTTPS front for the sandbox
// (its certificate is trusted through NODE_EXTRA_CA_CERTS).
const front = https.createServer(
  { cert: fs.readFileSync(CERT), key: fs.readFileSync(KEY) },
  (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const up = http.request(
      { host: sandbox.hostname, port: sandbox.port, path: req.url, method: req.method, headers: req.headers },
      (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); },
    );
    up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
  },
);
await new Promise((ok) => front.listen(0, '127.0.0.1', ok));
const uaadomain = `127.0.0.1:${front.address().port}`;
const base = `https://${uaadomain}`;
const demo = await (await fetch(`${SANDBOX}/_sandbox/demo.json`)).json();

const xsuaaCredentials = {
  clientid: demo.tc_clientid, clientsecret: demo.tc_clientsecret, url: base, uaadomain,
  xsappname: 'clone!b1234|one-inbox-service!b456', identityzone: demo.subdomain,
  tenantid: demo.subaccount_id, zoneid: demo.subaccount_id,
};
const destinationCredentials = {
  clientid: demo.dest_clientid, clientsecret: demo.dest_clientsecret, uri: base, url: base, uaadomain,
  xsappname: 'clone!b5678|destination-xsappname!b62', identityzone: demo.subdomain, tenantid: demo.subaccount_id,
};
process.env.VCAP_SERVICES = JSON.stringify({
  xsuaa: [{ name: 'xsuaa', label: 'xsuaa', tags: ['xsuaa'], credentials: xsuaaCredentials }],
  destination: [{ name: 'destination', label: 'destination', tags: ['destination'], credentials: destinationCredentials }],
});

const out = {};
const attempt = async (name, f) => {
  try { out[name] = await f(); } catch (e) { out[name] = { error: String(e?.message ?? e), cause: String(e?.cause?.message ?? '') }; }
};

const xsuaa = new xssec.XsuaaService(xsuaaCredentials);
let userJwt = null;
await attempt('xssec_client_credentials', async () => {
  const t = await xsuaa.fetchClientCredentialsToken();
  const ctx = await xsuaa.createSecurityContext(t.access_token);
  return { valid: true, clientId: ctx.token.clientId, zoneId: ctx.token.zid };
});
await attempt('xssec_user', async () => {
  const t = await xsuaa.fetchPasswordToken(USER_EMAIL, USER_PASSWORD);
  userJwt = t.access_token;
  const ctx = await xsuaa.createSecurityContext(userJwt);
  return { valid: true, email: ctx.token.email, userUuid: ctx.token.payload.user_uuid, grantType: ctx.token.grantType };
});
await attempt('sdk_list', async () => {
  const all = await getAllDestinationsFromDestinationService({ useCache: false });
  return { names: all.map((d) => d.name) };
});
await attempt('sdk_skip_token_retrieval', async () => {
  const t = await xsuaa.fetchClientCredentialsToken();
  const dest = new xssec.XsuaaService(destinationCredentials);
  const dt = await dest.fetchClientCredentialsToken();
  const found = await fetchDestinationWithoutTokenRetrieval(DESTINATION, base, dt.access_token);
  const d = found.subaccount?.[0] ?? found.instance?.[0];
  return { name: d?.name, authentication: d?.authentication, withToken: !!t };
});
await attempt('sdk_with_user', async () => {
  const d = await getDestination({ destinationName: DESTINATION, jwt: userJwt, useCache: false });
  return { name: d?.name, tokens: (d?.authTokens ?? []).map((a) => ({ type: a.type, error: a.error ?? null, hasValue: !!a.value })) };
});
await attempt('sdk_without_user', async () => {
  const d = await getDestination({ destinationName: DESTINATION, useCache: false });
  return { name: d?.name, tokens: (d?.authTokens ?? []).map((a) => ({ type: a.type, error: a.error ?? null })) };
});
// The SDK's own find-with-token call with a technical token only: SAP's refusal.
await attempt('sdk_technical_token_only', async () => {
  const dest = new xssec.XsuaaService(destinationCredentials);
  const dt = await dest.fetchClientCredentialsToken();
  const d = await fetchDestinationWithTokenRetrieval(base, dt.access_token, { destinationName: DESTINATION });
  return { name: d?.name, tokens: (d?.authTokens ?? []).map((a) => ({ type: a.type, error: a.error ?? null })) };
});
out.seen = seen;
console.log(JSON.stringify(out));
front.close();
process.exit(0);
