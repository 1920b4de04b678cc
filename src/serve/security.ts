import { networkInterfaces } from "node:os";

/**
 * The Host values a request may carry: the address the server listens on, as the browser spells
 * it. Anything else is a DNS-rebinding attempt (a foreign name resolving to 127.0.0.1), refused.
 * On 0.0.0.0 / :: the machine's own addresses are accepted too.
 */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set(["127.0.0.1", "localhost", "[::1]", host.includes(":") ? `[${host}]` : host]);
  if (host === "0.0.0.0" || host === "::") {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.add(a.family === "IPv6" ? `[${a.address}]` : a.address);
    }
  }
  return new Set([...names].map((n) => `${n}:${port}`.toLowerCase()));
}

interface RequestLike {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Why a request is refused (403), or null: a Host that is not ours, or a request made by a page
 * of another origin (its Origin header, or Sec-Fetch-Site: cross-site). Requests without Origin
 * (curl, scripts) pass: only browsers send it, and they always do on cross-origin POSTs.
 */
export function refusal(req: RequestLike, hosts: Set<string>): string | null {
  const host = String(req.headers.host ?? "").toLowerCase();
  if (!hosts.has(host)) return `Host "${host}" is not this server's address (${[...hosts].slice(0, 3).join(", ")}): refused (DNS rebinding protection)`;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null") {
    let originHost: string;
    try {
      originHost = new URL(String(origin)).host.toLowerCase();
    } catch {
      return `Origin "${origin}" is not a URL: refused`;
    }
    if (!hosts.has(originHost)) return `cross-origin request from ${origin}: refused`;
  } else if (origin === "null" && req.method !== "GET") {
    return "cross-origin request from an opaque origin: refused";
  }
  if (req.headers["sec-fetch-site"] === "cross-site") return "cross-site request: refused";
  return null;
}

/** Headers on every answer: the page may load only from this server (no CDN, no beacon), and not be framed. */
export const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
};
