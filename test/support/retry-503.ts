/**
 * A request asked again after a 503 (the local D1 briefly locked by the other wrangler process;
 * the statement failed, so nothing was written), after its Retry-After, as any client of the API
 * should. Used by the e2e admin client and the browser tests' seeding.
 */
export async function retrying503(send: () => Promise<Response>, attempts = 8): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await send();
    if (res.status !== 503 || attempt >= attempts) return res;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, Number(res.headers.get("retry-after") ?? 1) * 1000));
  }
}
