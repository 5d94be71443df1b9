// The policies of bench/policy_bench.cc (rules-N.json, requests-N.json from `policy_bench
// --emit DIR`) decided by Cedar (@cedar-policy/cedar-wasm: policy set preparsed once, then
// statefulIsAuthorized per request) and casbin (keyMatch2 paths, regexMatch methods, eval of a
// per-rule condition, enforceSync). Neither binds path-template parameters, so the harness hands
// them the {id} it generated: that favours the peers. Every decision is first checked against
// the expected one. Prints {"cedar": {"10": ns, ...}, "casbin": {...}} on stdout.
// Usage: node peers.js DIR [SECONDS_PER_CASE]
"use strict";
const fs = require("fs");
const path = require("path");
const cedar = require("@cedar-policy/cedar-wasm/nodejs");
const casbin = require("casbin");

const dir = process.argv[2];
const seconds = Number(process.argv[3] || 1);
const COUNTS = [10, 100, 1000];

// A path template as a Cedar condition: each {param} matches one segment ('*' in `like` would
// also match '/', hence the negated longer patterns); a trailing /** matches any rest.
function cedarTemplate(template) {
  const quote = (s) => JSON.stringify(s);
  if (template.endsWith("/**")) {
    const base = template.slice(0, -3);
    return `(context.path == ${quote(base)} || context.path like ${quote(base + "/*")})`;
  }
  const segments = template.split("/").slice(1);
  const pattern = "/" + segments.map((s) => (s.startsWith("{") ? "*" : s)).join("/");
  const longer = segments.map((s, i) =>
    s.startsWith("{") ? `!(context.path like ${quote(
        "/" + segments.map((t, j) => (j === i ? "*/*" : t.startsWith("{") ? "*" : t)).join("/"))})`
                      : null).filter(Boolean);
  return "(" + [`context.path like ${quote(pattern)}`, ...longer].join(" && ") + ")";
}

function cedarPolicies(rules) {
  return rules.map((rule, i) => {
    const actions = rule.methods.map((m) => `Action::${JSON.stringify(m)}`).join(", ");
    const paths = rule.paths.map(cedarTemplate).join(" || ");
    const when = rule.when ? " && context.sub == context.path_id" : "";
    return `@id("r${i}")\npermit(principal == Service::${JSON.stringify(rule.from)}, ` +
           `action in [${actions}], resource)\nwhen { (${paths})${when} };`;
  }).join("\n");
}

function cedarDecider(rules, count) {
  const id = `bench-${count}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: cedarPolicies(rules) });
  if (parsed.type !== "success") {
    throw new Error(`cedar: ${JSON.stringify(parsed.errors)}`);
  }
  return (r) => {
    const answer = cedar.statefulIsAuthorized({
      principal: { type: "Service", id: r.from },
      action: { type: "Action", id: r.method },
      resource: { type: "Service", id: "api" },
      context: { path: r.path, path_id: r.id, sub: r.sub },
      preparsedPolicySetId: id,
      entities: [],
    });
    if (answer.type !== "success") {
      throw new Error(`cedar: ${JSON.stringify(answer.errors)}`);
    }
    return answer.response.decision === "allow";
  };
}

const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act, tok, pid
[policy_definition]
p = sub, obj, act, cond
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.sub == p.sub && keyMatch2(r.obj, p.obj) && regexMatch(r.act, p.act) && eval(p.cond)
`;

async function casbinDecider(rules) {
  const lines = [];
  for (const rule of rules) {
    const act = `^(${rule.methods.join("|")})$`;
    const cond = rule.when ? "r.tok == r.pid" : "true";
    for (const template of rule.paths) {
      const paths = template.endsWith("/**") ? [template.slice(0, -3), template.slice(0, -2) + "*"]
                                             : [template.replace(/\{([a-z]+)\}/g, ":$1")];
      for (const p of paths) {
        lines.push(`p, ${rule.from}, ${p}, ${act}, ${cond}`);
      }
    }
  }
  const model = casbin.newModelFromString(CASBIN_MODEL);
  const enforcer = await casbin.newEnforcer(model, new casbin.StringAdapter(lines.join("\n")));
  return (r) => enforcer.enforceSync(r.from, r.path, r.method, r.sub, r.id);
}

// Runs `decide` over the requests for about `seconds`; returns nanoseconds per decision.
function measure(decide, requests) {
  for (const r of requests) {
    if (decide(r) !== r.allowed) {
      throw new Error(`wrong decision for ${r.from} ${r.method} ${r.path}`);
    }
  }
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget && n < 50_000_000) {
    for (const r of requests) {
      decide(r);
    }
    n += requests.length;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / n;
}

async function main() {
  const result = { cedar: {}, casbin: {}, versions: {
    cedar: cedar.getCedarVersion(),
    casbin: require("casbin/package.json").version,
    node: process.version,
  } };
  for (const count of COUNTS) {
    const rules = JSON.parse(fs.readFileSync(path.join(dir, `rules-${count}.json`)));
    const requests = JSON.parse(fs.readFileSync(path.join(dir, `requests-${count}.json`)));
    result.cedar[count] = measure(cedarDecider(rules, count), requests);
    result.casbin[count] = measure(await casbinDecider(rules), requests);
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((e) => {
  process.stderr.write(`peers.js: ${e.message}\n`);
  process.exit(1);
});
