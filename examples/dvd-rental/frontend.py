"""frontend: the page a browser opens through the gateway, behind the user's login (the route
`/` is `auth: [session]`: the gateway sends a browser without a session to the authority's login
first). Static HTML without external assets; its script asks the gateway who is signed in
(GET /_bulwark/session), then calls the rental API through the same gateway, so the session
cookie (set by the gateway at login, sent by fetch as a same-origin cookie) authenticates those
calls. Logging out is a form POST to /_bulwark/logout, answered by the gateway."""

import http.server
import os
import sys

PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>DVD rental</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:42rem;margin:0 auto;padding:0 1rem;color:#1b1b1b}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;
  border-bottom:1px solid #ccc;padding:.8rem 0}
header h1{margin:0;font-size:1.5rem}header form{margin:0}
#who{margin:0 1rem 0 0}
li{margin:.4rem 0}button{margin-left:.5rem;padding:.3rem .8rem;font:inherit;cursor:pointer}
button:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
#status{min-height:1.5rem;font-weight:bold}
</style></head>
<body>
<header>
<h1>DVD rental</h1>
<p id="who" aria-live="polite">Checking who is signed in...</p>
<form method="post" action="/_bulwark/logout"><button type="submit">Log out</button></form>
</header>
<main>
<p id="status" role="status" aria-live="polite"></p>
<section aria-labelledby="catalog-title"><h2 id="catalog-title">Catalog</h2>
<ul id="catalog"><li>Loading...</li></ul></section>
<section aria-labelledby="rentals-title"><h2 id="rentals-title">Your rentals</h2>
<ul id="rentals"><li>None yet.</li></ul></section>
<section aria-labelledby="charges-title"><h2 id="charges-title">Your charges</h2>
<ul id="charges"><li>None yet.</li></ul></section>
</main>
<script>
// The gateway forwards /catalog, /rentals to contract and /users/{id}/charges to user as they
// are; /_bulwark/session is the gateway's own (examples/dvd-rental/mesh.yaml, docs/gateway.md).
let me = null;
async function api(method, path, body) {
  const response = await fetch(path, {method, credentials: 'same-origin',
    headers: body ? {'Content-Type': 'application/json'} : {},
    body: body ? JSON.stringify(body) : undefined});
  if (response.status === 401) {  // the session ended: log in again, then come back here
    location.assign('/_bulwark/login?return_to=' + encodeURIComponent(location.pathname));
    throw new Error('Your session has ended; logging in again...');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) { throw new Error(data.error || ('HTTP ' + response.status)); }
  return data;
}
function item(text) { const li = document.createElement('li'); li.textContent = text; return li; }
function list(id, items, empty) {
  document.getElementById(id).replaceChildren(...(items.length ? items : [item(empty)]));
}
function say(text) { document.getElementById('status').textContent = text; }
async function refresh() {
  try {
    const {dvds} = await api('GET', '/catalog');
    list('catalog', dvds.map(d => {
      const li = item(d.title + ' (' + d.price + ' credits, ' + d.stock + ' left)');
      const button = document.createElement('button');
      button.textContent = 'Rent'; button.disabled = d.stock === 0;
      button.setAttribute('aria-label', 'Rent ' + d.title);
      button.onclick = () => rent(d.id, d.title);
      li.append(button); return li; }), 'The catalog is empty.');
    const {rentals} = await api('GET', '/rentals');
    list('rentals', rentals.map(r => item(r.title + ' - shipping ' + r.shipping)), 'None yet.');
    const {charges} = await api('GET', '/users/' + encodeURIComponent(me.sub) + '/charges');
    list('charges', charges.map(c => item(c.amount + ' credits for ' + c.for)), 'None yet.');
  } catch (e) { say(e.message); }
}
async function rent(id, title) {
  try { await api('POST', '/rentals', {dvd: id}); say('Rented ' + title + '.'); }
  catch (e) { say('Not rented: ' + e.message); }
  refresh();
}
async function start() {
  try { me = await api('GET', '/_bulwark/session'); }
  catch (e) { say(e.message); return; }
  document.getElementById('who').textContent = 'Signed in as ' + (me.name || me.sub) +
      (me.email ? ' (' + me.email + ')' : '');
  refresh();
}
start();
</script>
</body></html>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.split("?", 1)[0] not in ("/", "/index.html"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"frontend: {fmt % args}\n")


if __name__ == "__main__":
    port = int(os.environ.get("PORT", 9000))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"frontend: listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()
