/** Sortable table headers: a button per column, aria-sort on the header cell. */
import { useState } from "preact/hooks";

export interface Sort<K extends string> {
  key: K;
  dir: "asc" | "desc";
}

export function useSort<K extends string>(initial: Sort<K>): [Sort<K>, (key: K) => void] {
  const [sort, setSort] = useState(initial);
  // Names sort ascending first, figures descending (the busiest or slowest on top).
  const toggle = (key: K) => setSort((s) => (s.key === key ? { key, dir: s.dir === "asc" ? "desc" : "asc" } : { key, dir: key === "name" ? "asc" : "desc" }));
  return [sort, toggle];
}

export function sortRows<T, K extends string>(rows: T[], sort: Sort<K>, value: (row: T, key: K) => string | number): T[] {
  const m = sort.dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = value(a, sort.key);
    const y = value(b, sort.key);
    return m * (typeof x === "string" && typeof y === "string" ? x.localeCompare(y) : Number(x) - Number(y));
  });
}

export function SortHeader<K extends string>(props: { label: string; column: K; sort: Sort<K>; onSort: (k: K) => void }) {
  const active = props.sort.key === props.column;
  return (
    <th scope="col" aria-sort={active ? (props.sort.dir === "asc" ? "ascending" : "descending") : "none"}>
      <button type="button" class="sv-sort" data-dir={active ? props.sort.dir : undefined} onClick={() => props.onSort(props.column)}>
        {props.label}
      </button>
    </th>
  );
}
