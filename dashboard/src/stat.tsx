/**
 * @module
 * One figure of a summary list (`<dl>`): its name as the term and its value as the description,
 * which `data-stat` names for tests. The trace view's and the comparison's summaries and the service
 * map's panel list their figures with it.
 */
import type { ComponentChildren } from "preact";

export function Stat(props: { label: string; stat?: string; class?: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd data-stat={props.stat} class={props.class}>
        {props.children}
      </dd>
    </div>
  );
}
