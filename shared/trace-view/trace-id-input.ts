/**
 * @module
 * A trace id typed or pasted by a person (the header's lookup box, the TraceQL box): 16 or 32 hex
 * digits, any case, spaces around it ignored. A 16-digit (64-bit) id is left-padded with zeros to
 * the stored 32, as Tempo does.
 */

/** The 32-digit lowercase id, or undefined when `text` is not a trace id. */
export function traceIdFromInput(text: string): string | undefined {
  const id = text.trim().toLowerCase();
  if (!/^(?:[0-9a-f]{16}|[0-9a-f]{32})$/.test(id) || /^0+$/.test(id)) return undefined;
  return id.padStart(32, "0");
}

/** Why `text` is not a trace id, for the message shown to the person who typed it. */
export function traceIdProblem(text: string): string | undefined {
  const id = text.trim();
  if (!id) return "Enter a trace id: 16 or 32 hex digits.";
  if (/[^0-9a-fA-F]/.test(id)) return `“${id.slice(0, 64)}” is not a trace id: a trace id has only hex digits (0-9, a-f).`;
  if (id.length !== 16 && id.length !== 32) return `“${id.slice(0, 64)}” has ${id.length} digits: a trace id has 16 or 32.`;
  if (/^0+$/.test(id)) return "The all-zero trace id is not a trace.";
  return undefined;
}
