// Drives the npm package `hibp` (unchanged) against a pwndex server.
// Usage: node hibp_client.mjs < request.json
// request: {"baseUrl": "...", "passwords": [{"password": "...", "addPadding": bool}],
//           "ranges": [{"prefix": "ABCDE", "mode": "sha1"|"ntlm", "addPadding": bool}]}
// prints:  {"passwords": [count, ...], "ranges": [{suffix: count, ...}, ...]}
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

const out = { passwords: [], ranges: [] };
for (const p of req.passwords) {
  out.passwords.push(await hibp.pwnedPassword(p.password, { baseUrl: req.baseUrl, addPadding: p.addPadding }));
}
for (const r of req.ranges) {
  out.ranges.push(await hibp.pwnedPasswordRange(r.prefix, { baseUrl: req.baseUrl, mode: r.mode, addPadding: r.addPadding }));
}
process.stdout.write(JSON.stringify(out));
