// Source of private.js, the check page's private e-mail lookup. bundle.sh
// bundles it with @cloudflare/voprf-ts (RFC 9497 VOPRF, P256-SHA256) into
// ../private.js, which the server embeds; edit this file, then run
// bundle.sh and commit both.
//
// The address is normalised and hashed (SHA-1) here, its hash is blinded,
// and only a short bucket number (a few bits of SHA-256 of the hash) and
// the blinded element go to the server (POST /v1/private/email). The
// server's evaluation is checked against its published key (DLEQ proof),
// unblinded, and compared with the bucket's keyed values in this page.
import { Oprf, VOPRFClient, Evaluation, DLEQProof } from "@cloudflare/voprf-ts";
import { CryptoNoble } from "@cloudflare/voprf-ts/crypto-noble";

Oprf.Crypto = CryptoNoble;

function b64(u8) {
  let s = "";
  for (const c of u8) s += String.fromCharCode(c);
  return btoa(s);
}

function unb64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

// normalizeEmail mirrors index/ident.NormalizeEmail: trimmed, angle
// brackets removed, lower-cased, domain in ASCII (punycode).
export function normalizeEmail(s) {
  s = s.trim().replace(/^</, "").replace(/>$/, "").trim();
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) throw new Error("this is not an e-mail address");
  const local = s.slice(0, at);
  let domain = s.slice(at + 1).replace(/\.$/, "");
  if (/[\s"<>,;@]/.test(local)) throw new Error("this is not an e-mail address");
  try {
    domain = new URL("http://" + domain).hostname;
  } catch {
    throw new Error("the domain is not valid");
  }
  return local.toLowerCase() + "@" + domain.toLowerCase();
}

// checkEmail returns the names of the breaches the address is in ([] if
// none), through a private lookup.
export async function checkEmail(email, apiKey) {
  if (!globalThis.crypto || !globalThis.crypto.subtle) {
    throw new Error("this browser offers no WebCrypto here (it needs HTTPS or localhost)");
  }
  const norm = normalizeEmail(email);
  const input = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(norm)));
  const keyResp = await fetch("/v1/private/key", { cache: "no-store", referrerPolicy: "no-referrer" });
  if (!keyResp.ok) throw new Error("the server answered " + keyResp.status);
  const key = await keyResp.json();
  if (key.suite !== "P256-SHA256" || key.mode !== "verifiable") throw new Error("unsupported suite " + key.suite);
  const bits = key.kinds.email.prefixBits;
  let prefix = 0;
  if (bits > 0) {
    const s = new DataView(await crypto.subtle.digest("SHA-256", input));
    prefix = s.getUint32(0) >>> (32 - bits);
  }
  const suite = Oprf.Suite.P256_SHA256;
  const client = new VOPRFClient(suite, unb64(key.publicKey));
  const [finData, evalReq] = await client.blind([input]);
  const resp = await fetch("/v1/private/email", {
    method: "POST",
    cache: "no-store",
    referrerPolicy: "no-referrer",
    headers: { "hibp-api-key": apiKey, "Content-Type": "application/json" },
    body: JSON.stringify({ prefix, prefixBits: bits, elements: evalReq.blinded.map((e) => b64(e.serialize(true))) }),
  });
  if (!resp.ok) {
    let msg = "the server answered " + resp.status;
    try { msg += ": " + (await resp.json()).message; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  const ans = await resp.json();
  const group = Oprf.getGroup(suite);
  const evaluation = new Evaluation(Oprf.Mode.VOPRF, ans.evaluations.map((s) => group.desElt(unb64(s))),
    DLEQProof.deserialize(group.id, unb64(ans.proof)));
  const [output] = await client.finalize(finData, evaluation); // throws if the proof does not verify
  const want = b64(output.subarray(0, key.valueBytes));
  const hit = ans.bucket.find((e) => e.v === want);
  return hit ? hit.b.map((id) => ans.breaches[String(id)]) : [];
}
