// Waits for a local server to answer: `npm start` for its workers, the ingest benchmark for the
// stacks it starts. Any answer counts (even an error status); a refused connection is tried again.

/**
 * Resolves once `url` answers, trying every 200 ms; throws after `tries` refusals.
 * @param {string} url
 * @param {number} [tries] 600 (two minutes) unless told
 * @returns {Promise<void>}
 */
export async function waitForHttp(url, tries = 600) {
  for (let i = 0; i < tries; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${url} did not come up`);
}
