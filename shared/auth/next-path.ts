/**
 * @module
 * Where a login sends the user back to: the page they had opened (a trace, a span, a search),
 * carried through the login and sign-up forms as `next`. Only a path of this site under /app is
 * taken, so a crafted login link cannot send anyone elsewhere (no open redirect).
 */

/** The longest `next` kept; a real dashboard URL is far shorter. */
const MAX_NEXT_LENGTH = 2048;

/** A path under /app (with its query) to go to after logging in, or undefined for anything else. */
export function safeNextPath(raw: string | null | undefined): string | undefined {
  if (!raw || raw.length > MAX_NEXT_LENGTH) return undefined;
  // Browsers read `\` as `/` and drop tabs and newlines, so `/\evil` or `/\t/evil` would leave the site.
  if (!raw.startsWith("/app") || [...raw].some((ch) => ch === "\\" || ch <= "\u001f" || ch === "\u007f")) return undefined;
  let url: URL;
  try {
    url = new URL(raw, "http://next.invalid");
  } catch {
    return undefined;
  }
  // Dot segments (`/app/../x`) resolve away from /app; `/app@host`, `/apple` are not /app.
  if (url.origin !== "http://next.invalid" || !(url.pathname === "/app" || url.pathname.startsWith("/app/"))) return undefined;
  return `${url.pathname}${url.search}`;
}
