/**
 * @module
 * The user's choice between local time and UTC for every time the trace pages show: a toggle
 * button, remembered in localStorage, and a hook that re-renders on a change made anywhere on the
 * page.
 */
import { useEffect, useState } from "preact/hooks";
import type { TimeZoneChoice } from "./time-format.ts";

const STORAGE_KEY = "edgetrace.timeZone";
const CHANGE_EVENT = "edgetrace-time-zone";

export function readTimeZone(): TimeZoneChoice {
  try {
    return localStorage.getItem(STORAGE_KEY) === "utc" ? "utc" : "local";
  } catch {
    return "local";
  }
}

/** Remembers the choice and tells every component that shows times. */
export function writeTimeZone(zone: TimeZoneChoice): void {
  try {
    localStorage.setItem(STORAGE_KEY, zone);
  } catch {
    // Storage refused (private mode): the choice lasts for this page only.
  }
  document.dispatchEvent(new CustomEvent(CHANGE_EVENT, { detail: zone }));
}

/** The user's time zone choice, re-rendering when it changes anywhere on the page. */
export function useTimeZone(): TimeZoneChoice {
  const [zone, setZone] = useState<TimeZoneChoice>(readTimeZone);
  useEffect(() => {
    const on = (e: Event) => setZone((e as CustomEvent<TimeZoneChoice>).detail);
    document.addEventListener(CHANGE_EVENT, on);
    return () => document.removeEventListener(CHANGE_EVENT, on);
  }, []);
  return zone;
}

/** A button that switches every time on the page between local time and UTC. */
export function TimeZoneToggle() {
  const zone = useTimeZone();
  return (
    <button type="button" class="tz-toggle" aria-pressed={zone === "utc"} title="Show times in UTC instead of your local time" onClick={() => writeTimeZone(zone === "utc" ? "local" : "utc")}>
      UTC
    </button>
  );
}
