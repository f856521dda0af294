// Drives the npm package `hibp` (unchanged) against a pwndex server's HIBP v3
// account and catalog routes.
// Usage: node hibp_account_client.mjs < request.json
// request: {"baseUrl": "http://127.0.0.1:port/api/v3",
//           "calls": [{"fn": "breachedAccount", "args": ["a@b.c", {"apiKey": "...", "truncate": false}]}, ...]}
// Each call's options get baseUrl added. fn is one of the package's exports.
// prints:  [{"ok": result} | {"error": "message"}, ...] (result null for a 404)
// The package is resolved from $PWNDEX_NPM_DIR/node_modules.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const dir = process.env.PWNDEX_NPM_DIR;
if (!dir) {
  console.error('PWNDEX_NPM_DIR is not set');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(dir), 'package.json'));
const hibp = await import(pathToFileURL(require.resolve('hibp')).href);

let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);

const out = [];
for (const c of req.calls) {
  const args = [...(c.args ?? [])];
  // The options object is the last argument; functions without a leading
  // argument take it alone.
  if (args.length === 0 || typeof args[args.length - 1] !== 'object') args.push({});
  args[args.length - 1] = { ...args[args.length - 1], baseUrl: req.baseUrl };
  try {
    out.push({ ok: await hibp[c.fn](...args) });
  } catch (e) {
    out.push({ error: String(e.message ?? e) });
  }
}
process.stdout.write(JSON.stringify(out));
