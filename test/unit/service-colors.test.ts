/** The dashboard's one colour per service (dashboard/src/search/colors.ts). */
import { describe, expect, test } from "vitest";
import { SERVICE_PALETTE, serviceChipStyle, serviceColor } from "../../dashboard/src/search/colors.ts";

describe("serviceColor", () => {
  test("is a pure function of the name: the same on every call, from the palette", () => {
    for (const name of ["frontend", "api", "postgres", "", "ünïcode-服务", "a".repeat(500)]) {
      expect(serviceColor(name)).toBe(serviceColor(`${name}`));
      expect(SERVICE_PALETTE).toContain(serviceColor(name));
    }
  });

  test("known names keep their colour (a change here recolours every user's services)", () => {
    expect(serviceColor("frontend")).toBe("#76b7b2");
    expect(serviceColor("api")).toBe("#9c755f");
    expect(serviceColor("postgres")).toBe("#8cd17d");
  });

  test("spreads names over the palette", () => {
    const used = new Set(Array.from({ length: 400 }, (_, i) => serviceColor(`service-${i}`)));
    expect(used.size).toBe(SERVICE_PALETTE.length);
  });

  test("the palette has no pure red (red marks errors) and every colour is distinct", () => {
    expect(new Set(SERVICE_PALETTE).size).toBe(SERVICE_PALETTE.length);
    for (const c of SERVICE_PALETTE) {
      expect(c).toMatch(/^#[0-9a-f]{6}$/);
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
      expect(r! > 200 && g! < 80 && b! < 80).toBe(false);
    }
  });

  test("chips take the same colour", () => {
    expect(serviceChipStyle("api")).toEqual({ "--chip-color": serviceColor("api") });
  });
});
