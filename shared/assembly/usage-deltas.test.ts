import { describe, expect, it } from "vitest";
import { usageDeltas } from "./usage-deltas.ts";

describe("usageDeltas", () => {
  it("sums accepted and rejected spans per UTC day of receipt", () => {
    const d1 = Date.UTC(2026, 10, 24, 23, 59, 59);
    const d2 = Date.UTC(2026, 10, 25, 0, 0, 1);
    expect(
      usageDeltas(
        [
          { receivedAtMs: d1, spanCount: 10 },
          { receivedAtMs: d2, spanCount: 5 },
          { receivedAtMs: d2, spanCount: 1 },
        ],
        [{ receivedAtMs: d2, rejectedSpans: 3 }, { receivedAtMs: d1 }, { rejectedSpans: 9 }],
      ),
    ).toEqual([
      { day: "2026-11-24", spansAccepted: 10, spansRejected: 0 },
      { day: "2026-11-25", spansAccepted: 6, spansRejected: 3 },
    ]);
  });
});
