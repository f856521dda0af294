// Drives @cloudflare/voprf-ts (an independent RFC 9497 implementation) as
// the client of pwndex's private lookups.
// Usage: node private_client.mjs < request.json
// request: {"baseUrl": "...", "apiKey": "...",
//           "queries": [{"kind": "email"|"phone", "id": "<normalised>"} |
//                       {"kind": "credential", "id": "<normalised e-mail>", "password": "..."}]}
// prints:  {"keyID": "...", "results": [[breach names] or null, ...], "elements": [[base64...], ...]}
// The OPRF inputs are computed here with node:crypto: SHA-1 of the
// normalised identifier, or of e-mail || 0x00 || password; the bucket is
// the first prefixBits bits of SHA-256 of that input.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import path from 'node:path';

const dir = process.env.PWNDEX_NPM_DIR;
if (!dir) {
  console.error('PWNDEX_NPM_DIR is not set');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(dir), 'package.json'));
const voprf = await import(pathToFileURL(require.resolve('@cloudflare/voprf-ts')).href);
const { CryptoNoble } = await import(pathToFileURL(require.resolve('@cloudflare/voprf-ts/crypto-noble')).href);
const { Oprf, VOPRFClient, Evaluation, DLEQProof } = voprf;
// @noble/curves (a voprf-ts dependency) is several times faster than the
// default sjcl provider.
Oprf.Crypto = CryptoNoble;

let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);

const b64 = (u8) => Buffer.from(u8).toString('base64');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));

const keyResp = await fetch(req.baseUrl + '/v1/private/key');
if (keyResp.status !== 200) throw new Error('GET /v1/private/key: ' + keyResp.status);
const key = await keyResp.json();
if (key.suite !== 'P256-SHA256' || key.mode !== 'verifiable') throw new Error('unexpected suite ' + key.suite);
const suite = Oprf.Suite.P256_SHA256;
const client = new VOPRFClient(suite, unb64(key.publicKey));
const group = Oprf.getGroup(suite);

function oprfInput(q) {
  const h = createHash('sha1');
  h.update(Buffer.from(q.id, 'utf8'));
  if (q.kind === 'credential') {
    h.update(Buffer.from([0]));
    h.update(Buffer.from(q.password ?? '', 'utf8'));
  }
  return new Uint8Array(h.digest());
}

function bucketOf(inp, bits) {
  if (bits === 0) return 0;
  const s = createHash('sha256').update(inp).digest();
  return s.readUInt32BE(0) >>> (32 - bits);
}

const out = { keyID: key.keyID, results: [], elements: [] };
for (const q of req.queries) {
  const inp = oprfInput(q);
  const bits = key.kinds[q.kind].prefixBits;
  const [finData, evalReq] = await client.blind([inp]);
  const elements = evalReq.blinded.map((e) => b64(e.serialize(true)));
  const resp = await fetch(req.baseUrl + '/v1/private/' + q.kind, {
    method: 'POST',
    headers: { 'hibp-api-key': req.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ prefix: bucketOf(inp, bits), prefixBits: bits, elements }),
  });
  if (resp.status !== 200) throw new Error('POST /v1/private/' + q.kind + ': ' + resp.status + ' ' + (await resp.text()));
  const ans = await resp.json();
  const evaluated = ans.evaluations.map((s) => group.desElt(unb64(s)));
  const proof = DLEQProof.deserialize(group.id, unb64(ans.proof));
  const [output] = await client.finalize(finData, new Evaluation(Oprf.Mode.VOPRF, evaluated, proof));
  const want = b64(output.subarray(0, key.valueBytes));
  const hit = ans.bucket.find((e) => e.v === want);
  out.results.push(hit ? hit.b.map((id) => ans.breaches[String(id)]).sort() : null);
  out.elements.push(elements);
}
process.stdout.write(JSON.stringify(out));
