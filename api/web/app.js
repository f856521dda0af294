// pwndex check page: the password is hashed here with WebCrypto; only the
// first five hex digits of its SHA-1 go to the server (k-anonymity).
"use strict";

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

async function check(password) {
  if (!window.crypto || !window.crypto.subtle) {
    throw new Error("this browser offers no WebCrypto here (it needs HTTPS or localhost)");
  }
  const digest = hex(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password)));
  const prefix = digest.slice(0, 5), suffix = digest.slice(5);
  const resp = await fetch("/range/" + prefix, { headers: { "Add-Padding": "true" }, cache: "no-store", referrerPolicy: "no-referrer" });
  if (!resp.ok) {
    throw new Error("the server answered " + resp.status);
  }
  const body = await resp.text();
  for (const line of body.split("\r\n")) {
    const i = line.indexOf(":");
    if (i === 35 && line.slice(0, i) === suffix) {
      return parseInt(line.slice(i + 1), 10) || 0;
    }
  }
  return 0;
}

function show(el, cls, text) {
  el.className = cls;
  el.textContent = text;
  el.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const pform = document.getElementById("private-form");
  const presult = document.getElementById("presult");
  pform.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    show(presult, "", "Checking…");
    try {
      // pwndexPrivate comes from private.js (bundled @cloudflare/voprf-ts).
      const breaches = await window.pwndexPrivate.checkEmail(
        document.getElementById("pemail").value, document.getElementById("pkey").value);
      if (breaches.length > 0) {
        show(presult, "pwned", "Oh no — this address is in " + breaches.length + " breach(es): " + breaches.join(", ") + ".");
      } else {
        show(presult, "clean", "Good news — this address was not found.");
      }
    } catch (err) {
      show(presult, "error", "Could not check: " + err.message);
    }
  });

  const form = document.getElementById("check-form");
  const input = document.getElementById("password");
  const result = document.getElementById("result");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    show(result, "", "Checking…");
    try {
      const n = await check(input.value);
      if (n > 0) {
        show(result, "pwned", "Oh no — this password has been seen " + n + " times in breaches.");
      } else {
        show(result, "clean", "Good news — this password was not found.");
      }
    } catch (err) {
      show(result, "error", "Could not check: " + err.message);
    }
  });
});
