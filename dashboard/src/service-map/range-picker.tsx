/** The range select of the service pages; the choice goes into the URL. */
import { RANGES, rangeToUrl, type RangeOption } from "./range.ts";

export function RangePicker(props: { range: RangeOption; onChange: (r: RangeOption) => void; onRefresh: () => void }) {
  return (
    <>
      <label>
        Time range
        <select
          value={props.range.id}
          onChange={(e) => {
            const r = RANGES.find((x) => x.id === e.currentTarget.value);
            if (!r) return;
            rangeToUrl(r.id);
            props.onChange(r);
          }}
        >
          {RANGES.map((r) => (
            <option key={r.id} value={r.id}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      <button type="button" onClick={props.onRefresh}>
        Refresh
      </button>
    </>
  );
}
