// The headless Chromium of tests/e2e/test_browser.py: Debian's chromium driven by playwright-core
// logs in through the DVD mesh's gateway (password, then TOTP), rents a DVD on the page, logs
// out, and checks that a new visit asks for the password again. Screenshots of each page go to
// the output folder. Input: one JSON argument {gateway, user, password, totp_secret, out_dir,
// spki, timeout_ms}; output: one JSON line of what it saw; exit 1 on any failure (with the page's
// text and a screenshot of where it stopped).
//
// TLS: the mesh's own CA is trusted for exactly the keys of the gateway's and the authority's
// certificates (--ignore-certificate-errors-spki-list with their SPKI SHA-256, computed by the
// test with the openssl CLI), not by ignoring every certificate error.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const input = JSON.parse(process.argv[2]);
const timeout = input.timeout_ms ?? 20000;
const seen = { screenshots: [], steps: [] };

// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) of `step`, as an authenticator app computes it.
function totp(secretBase32, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretBase32.replace(/=+$/, '')) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1000000).padStart(6, '0');
}

async function shot(page, name) {
  const path = join(input.out_dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  seen.screenshots.push(path);
}

function step(text) {
  seen.steps.push(text);
}

function expect(condition, what) {
  if (!condition) {
    throw new Error(what);
  }
}

const profile = mkdtempSync(join(tmpdir(), 'bulwark-chromium-'));
const flags = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--ignore-certificate-errors-spki-list=${input.spki.join(',')}`,
];
let context;
let page;
try {
  // launchPersistentContext passes the fresh profile as --user-data-dir.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: flags,
    viewport: { width: 900, height: 700 }, timeout,
  });
  context.setDefaultTimeout(timeout);
  page = context.pages()[0] ?? (await context.newPage());
  const gateway = new URL(input.gateway);

  // 1. The protected page sends a browser without a session to the authority's login.
  await page.goto(input.gateway + '/');
  await page.getByLabel('User name').waitFor();
  const login = new URL(page.url());
  expect(login.port !== gateway.port, `the login page is served by the gateway: ${page.url()}`);
  seen.login_url = page.url();
  step(`redirected to the login page ${login.origin}${login.pathname}`);
  await shot(page, '1-login');

  // 2. Password, then the second factor.
  await page.getByLabel('User name').fill(input.user);
  await page.getByLabel('Password').fill(input.password);
  await page.getByRole('button', { name: 'Continue' }).click();
  const code = page.getByLabel('Code from your authenticator app, or a recovery code');
  await code.waitFor();
  step('password accepted; the second factor is asked');
  await shot(page, '2-mfa');
  // The enrolment spent the current step's code (a used code is refused): the next one.
  await code.fill(totp(input.totp_secret, Math.floor(Date.now() / 30000) + 1));
  await page.getByRole('button', { name: 'Sign in' }).click();

  // 3. Back on the gateway's page, signed in (the page asked /_bulwark/session).
  await page.waitForURL((url) => url.port === gateway.port && url.pathname === '/');
  await page.getByText(`Signed in as ${input.user}`).waitFor();
  await page.getByRole('button', { name: 'Rent Metropolis' }).waitFor();
  seen.page_url = page.url();
  step(`signed in: ${await page.locator('#who').textContent()}`);
  await shot(page, '3-logged-in');

  // 4. Rent a DVD with fetch (the session cookie) and see it on the page.
  await page.getByRole('button', { name: 'Rent Metropolis' }).click();
  await page.getByRole('status').filter({ hasText: 'Rented Metropolis.' }).waitFor();
  await page.locator('#rentals').getByText('Metropolis - shipping').waitFor();
  await page.locator('#charges').getByText('4 credits for rental of Metropolis').waitFor();
  seen.rentals = await page.locator('#rentals').innerText();
  seen.charges = await page.locator('#charges').innerText();
  step('rented Metropolis: it is in the rentals and the charges');
  await shot(page, '4-rented');

  // 5. Log out: the gateway and the provider sessions end; the provider sends the browser
  // back to the gateway's page, which sends it to the login again.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Password').waitFor();
  seen.after_logout_url = page.url();
  const cookies = await context.cookies(input.gateway);
  seen.gateway_cookies_after_logout = cookies.map((c) => c.name);
  expect(!seen.gateway_cookies_after_logout.includes('__Host-bulwark-session'),
    `the session cookie survived the logout: ${seen.gateway_cookies_after_logout}`);
  step('logged out: the login page asks for the password');
  await shot(page, '5-after-logout');

  // 6. A new visit of the page asks for the password again (no session, no login cookie).
  await page.goto(input.gateway + '/');
  await page.getByLabel('Password').waitFor();
  expect(new URL(page.url()).port !== gateway.port, `a new visit reached ${page.url()}`);
  step('a new visit asks for the password again');
  console.log(JSON.stringify(seen));
} catch (error) {
  seen.error = String(error && error.stack ? error.stack : error);
  if (page) {
    seen.stopped_at = page.url();
    seen.page_text = (await page.locator('body').innerText().catch(() => '')).slice(0, 2000);
    await shot(page, 'failure').catch(() => {});
  }
  console.log(JSON.stringify(seen));
  process.exitCode = 1;
} finally {
  if (context) {
    await context.close().catch(() => {});
  }
  rmSync(profile, { recursive: true, force: true });
}
