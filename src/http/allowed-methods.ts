// Which methods a path answers to, read from the registered routes. A request for a path that
// exists with a method it does not take is answered 405 with an Allow header (RFC 9110
// §15.5.6), not 404: the client learns it used the wrong method, not that the path is wrong.
// The resource is the most specific pattern that matches: /api/v1/profiles/import is the import
// route (POST), not /api/v1/profiles/:id with id "import".
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

interface RouteLike {
  method: string;
  path: string;
}

/** `/api/v1/users/:id` → a RegExp for its concrete paths (with or without a trailing slash). */
function patternOf(path: string): RegExp {
  const body = path
    .replace(/\/+$/, "")
    .split("/")
    .map((seg) => (seg === "*" ? ".*" : seg.startsWith(":") ? (seg.endsWith("?") ? "[^/]*" : "[^/]+") : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${body}/?$`);
}

/** A look-up over `routes()`, rebuilt when routes are added; the methods a path takes, sorted. */
export function allowedMethodsOf(routes: () => readonly RouteLike[]): (pathname: string) => string[] {
  let table: { re: RegExp; method: string; literal: number }[] = [];
  let built = -1;
  return (pathname) => {
    const list = routes();
    if (built !== list.length) {
      table = list
        .filter((r) => METHODS.has(r.method.toUpperCase()))
        .map((r) => ({ re: patternOf(r.path), method: r.method.toUpperCase(), literal: r.path.split("/").filter((seg) => seg && !seg.startsWith(":") && seg !== "*").length }));
      built = list.length;
    }
    const matching = table.filter((r) => r.re.test(pathname));
    const mostSpecific = Math.max(...matching.map((r) => r.literal));
    return [...new Set(matching.filter((r) => r.literal === mostSpecific).map((r) => r.method))].sort();
  };
}
