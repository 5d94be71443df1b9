"""frontend: the page a browser opens through the gateway. Static HTML without external assets;
its script calls the rental API through the same gateway, so the user's session cookie (set by
the gateway at login) authenticates those calls."""

import http.server
import os
import sys

PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>DVD rental</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
li{margin:.4rem 0}button{margin-left:.5rem}</style></head>
<body>
<h1>DVD rental</h1>
<section aria-labelledby="catalog-title"><h2 id="catalog-title">Catalog</h2>
<ul id="catalog"><li>Loading...</li></ul></section>
<section aria-labelledby="rentals-title"><h2 id="rentals-title">Your rentals</h2>
<ul id="rentals"></ul></section>
<p id="status" role="status" aria-live="polite"></p>
<script>
// The gateway forwards /catalog and /rentals to contract as they are (examples/dvd-rental/mesh.yaml).
async function api(method, path, body) {
  const response = await fetch(path, {method, credentials: 'same-origin',
    headers: body ? {'Content-Type': 'application/json'} : {},
    body: body ? JSON.stringify(body) : undefined});
  const data = await response.json().catch(() => ({}));
  if (!response.ok) { throw new Error(data.error || ('HTTP ' + response.status)); }
  return data;
}
function item(text) { const li = document.createElement('li'); li.textContent = text; return li; }
async function refresh() {
  const catalog = document.getElementById('catalog');
  const rentals = document.getElementById('rentals');
  try {
    const {dvds} = await api('GET', '/catalog');
    catalog.replaceChildren(...dvds.map(d => {
      const li = item(d.title + ' (' + d.price + ' credits, ' + d.stock + ' left)');
      const button = document.createElement('button');
      button.textContent = 'Rent'; button.disabled = d.stock === 0;
      button.setAttribute('aria-label', 'Rent ' + d.title);
      button.onclick = () => rent(d.id, d.title);
      li.append(button); return li; }));
    const mine = await api('GET', '/rentals');
    rentals.replaceChildren(...mine.rentals.map(r => item(r.title + ' - ' + r.shipping)));
  } catch (e) { document.getElementById('status').textContent = e.message; }
}
async function rent(id, title) {
  try { await api('POST', '/rentals', {dvd: id});
        document.getElementById('status').textContent = 'Rented ' + title + '.'; }
  catch (e) { document.getElementById('status').textContent = 'Not rented: ' + e.message; }
  refresh();
}
refresh();
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
