import { describe, expect, it } from "vitest";
import { parseTraceQL } from "../traceql/index.ts";
import { traceqlRequiredServices } from "./search-blocks.ts";

const req = (q: string) => traceqlRequiredServices(parseTraceQL(q));

describe("traceqlRequiredServices", () => {
  it("takes resource.service.name equalities through && and structural operators", () => {
    expect(req(`{ resource.service.name = "cart" && duration > 100ms }`)).toEqual(["cart"]);
    expect(req(`{ "cart" = resource.service.name }`)).toEqual(["cart"]);
    expect(req(`{ resource.service.name = "web" } && { resource.service.name = "cart" }`)).toEqual(["cart", "web"]);
    expect(req(`{ resource.service.name = "web" } >> { resource.service.name = "cart" }`)).toEqual(["cart", "web"]);
    expect(req(`{ resource.service.name = "cart" } | count() > 2`)).toEqual(["cart"]);
  });

  it("keeps only what both sides of || need, and nothing from unsound forms", () => {
    expect(req(`{ resource.service.name = "a" || resource.service.name = "b" }`)).toEqual([]);
    expect(req(`{ resource.service.name = "a" && name = "x" } || { resource.service.name = "a" }`)).toEqual(["a"]);
    expect(req(`{ .service.name = "cart" }`)).toEqual([]);
    expect(req(`{ span.service.name = "cart" }`)).toEqual([]);
    expect(req(`{ resource.service.name != "cart" }`)).toEqual([]);
    expect(req(`{ resource.service.name =~ "ca.*" }`)).toEqual([]);
    expect(req(`{ !(resource.service.name = "cart") }`)).toEqual([]);
    expect(req(`{}`)).toEqual([]);
  });
});
