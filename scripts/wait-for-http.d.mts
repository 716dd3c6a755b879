/** Resolves once `url` answers, trying every 200 ms; throws after `tries` refusals (600, two minutes, unless told). */
export function waitForHttp(url: string, tries?: number): Promise<void>;
