/**
 * @module
 * A TraceQL error as the server reported it, with the query's line shown and a caret under the
 * column it named (1-based, in UTF-16 units, as the server counts).
 */
import type { TraceQLPosition } from "./data.ts";

/** The spaces (tabs kept, so the caret lines up) to put before the caret. */
export function caretPad(line: string, column: number): string {
  return line.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, " ") + " ".repeat(Math.max(0, column - 1 - line.length));
}

export function QueryError({ id, query, message, position }: { id: string; query: string; message: string; position?: TraceQLPosition }) {
  const lines = query.split("\n");
  const line = position ? lines[position.line - 1] : undefined;
  return (
    <div id={id} class="notice error query-error" role="alert">
      <p>
        <strong>The query has an error:</strong> {message.replace(/^q: /, "")}
      </p>
      {position && line !== undefined && (
        <pre class="caret" aria-label={`at line ${position.line}, column ${position.column}`}>
          {lines.length > 1 && <span class="muted">{`line ${position.line}: `}</span>}
          <code>{line}</code>
          {"\n"}
          {lines.length > 1 && <span aria-hidden="true">{" ".repeat(`line ${position.line}: `.length)}</span>}
          <span class="marker" aria-hidden="true">
            {caretPad(line, position.column)}^
          </span>
        </pre>
      )}
    </div>
  );
}
