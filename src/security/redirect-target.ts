// Where a sign-in may send the browser afterwards (`/login?next=…`). The threat is an open
// redirect: a link to our login page that lands the user, signed in and trusting, on another
// site. Browsers do not read a Location the way a regular expression does: they drop tabs and
// newlines, read `\` as `/`, take `//host` as another host, and decode nothing until they parse.
// So the target is parsed by the WHATWG URL parser (the browser's own algorithm) against the
// public URL, and accepted only when it stays on that origin; what is returned is the parser's
// serialisation, checked once more, so the browser reads exactly what was checked.

const MAX_TARGET_LENGTH = 2048;

/** `target` as a same-origin path (path, query, fragment), or "/" when it is anything else. */
export function sameOriginPath(target: string | undefined | null, publicUrl: string): string {
  if (!target || target.length > MAX_TARGET_LENGTH || !target.startsWith("/")) return "/";
  const base = new URL(publicUrl);
  const resolved = URL.parse(target, base);
  if (!resolved || resolved.origin !== base.origin) return "/";
  const path = resolved.pathname + resolved.search + resolved.hash;
  // A serialisation that starts with `//` or `/\` would itself name another host (`/.//evil`).
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  const again = URL.parse(path, base);
  return again && again.origin === base.origin && again.pathname + again.search + again.hash === path ? path : "/";
}
