// What an ADMIN_TOKEN must be: long, and not an example or placeholder. Checked by the dashboard
// worker (it will not serve the admin API with a weak token) and by scripts/dev-vars.mjs (`npm
// start` will not start with one). Plain JavaScript so the Node scripts import it without a loader.

/** 32 characters: what `npm start` generates (24 random bytes, base64url), about 192 bits. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

// Words of example and placeholder values (.dev.vars.example, docs, tutorials), compared without
// case and punctuation; a random token contains none of them.
const PLACEHOLDER_WORDS = ["changeme", "changethis", "replaceme", "example", "placeholder", "yourtoken", "yoursecret", "yourtokenhere", "secrettoken", "admintoken"];

/** A random token of this length has far more distinct characters; "aaaa…" and "1234…" do not. */
const MIN_DISTINCT_CHARACTERS = 8;

/**
 * Why `token` must not guard the admin API, or undefined when it may. The reason never quotes
 * the token, so it can be logged.
 * @param {string} token
 * @returns {string | undefined}
 */
export function adminTokenProblem(token) {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) return `it is too short (${token.length} characters; at least ${MIN_ADMIN_TOKEN_LENGTH})`;
  const letters = token.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (PLACEHOLDER_WORDS.some((w) => letters.includes(w))) return "it is an example or placeholder value";
  if (new Set(token).size < MIN_DISTINCT_CHARACTERS) return `it has fewer than ${MIN_DISTINCT_CHARACTERS} distinct characters`;
  return undefined;
}

/** How to make a good one, for the messages. */
export const ADMIN_TOKEN_ADVICE = `use at least ${MIN_ADMIN_TOKEN_LENGTH} random characters, e.g. \`openssl rand -base64 32\``;
