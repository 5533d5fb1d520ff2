/**
 * The request target of an HTTP request line, read without throwing. Node's HTTP parser accepts
 * targets that WHATWG URL parsing refuses (`//[`, `http://[`), and `new URL(req.url, base)`
 * treats a target that starts with `//` as a host name; either way a bare `new URL()` on
 * `req.url` throws for input any client can send. Everything that looks at a request's path reads
 * it through here.
 */
export interface RequestTarget {
  /** The path, e.g. `/graphql`; `//x` stays `//x` (a path, never a host). */
  pathname: string;
  /** `?a=1` or ''. */
  search: string;
}

/** Origin-form (`/path?query`) or absolute-form (`http://host/path`); undefined for anything else. */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  const target = raw ?? '/';
  try {
    // Prefixing an origin makes `//x` a path, as RFC 9112 reads an origin-form target.
    const url = target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return { pathname: url.pathname, search: url.search };
  } catch {
    return undefined;
  }
}

/** The path, or undefined when the target cannot be read (answer 400). */
export function pathOf(raw: string | undefined): string | undefined {
  return parseRequestTarget(raw)?.pathname;
}
