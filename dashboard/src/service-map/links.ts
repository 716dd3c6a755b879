/**
 * Links to the search page, filtered: `service`, `operation` and `range` query parameters (the
 * search page reads them). Built from our own path and encodeURIComponent'd values only: service
 * and operation names come from spans, so they never become a URL by themselves.
 */
import { projectHref } from "../api.ts";

export function searchHref(filter: { service: string; operation?: string; range: string }): string {
  const parts = [`service=${encodeURIComponent(filter.service)}`];
  if (filter.operation !== undefined) parts.push(`operation=${encodeURIComponent(filter.operation)}`);
  parts.push(`range=${encodeURIComponent(filter.range)}`);
  return projectHref(`/search?${parts.join("&")}`);
}
