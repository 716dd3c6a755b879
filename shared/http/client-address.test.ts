import { describe, expect, it } from "vitest";
import { clientAddress } from "./client-address.ts";

const of = (value?: string) => clientAddress(new Headers(value === undefined ? {} : { "cf-connecting-ip": value }));

describe("client address", () => {
  it("is undefined without a usable CF-Connecting-IP, never a shared bucket", () => {
    expect(of()).toBeUndefined();
    expect(of("")).toBeUndefined();
    expect(of("unknown")).toBeUndefined();
    expect(of("203.0.113.7, 198.51.100.1")).toBeUndefined();
    expect(of("256.1.1.1")).toBeUndefined();
    expect(of("1.2.3")).toBeUndefined();
    expect(of("0x7f.1")).toBeUndefined();
    expect(of("fe80::1%eth0")).toBeUndefined();
    expect(of("[2001:db8::1]")).toBeUndefined();
    expect(of(`2001:db8::${"1".repeat(70)}`)).toBeUndefined();
  });

  it("keeps an IPv4 address as it is", () => {
    expect(of("203.0.113.7")).toBe("v4:203.0.113.7");
    expect(of(" 127.0.0.1 ")).toBe("v4:127.0.0.1");
  });

  it("counts IPv6 by its /64, however it is written", () => {
    const a = of("2001:db8:85a3:8d3:1319:8a2e:370:7348");
    expect(a).toBe("v6:2001:db8:85a3:8d3::/64");
    expect(of("2001:0DB8:85a3:08d3::1")).toBe(a);
    expect(of("2001:db8:85a3:8d4::1")).not.toBe(a);
    expect(of("::1")).toBe("v6:0:0:0:0::/64");
    expect(of("2001:db8::")).toBe("v6:2001:db8:0:0::/64");
  });

  it("treats an IPv4-mapped IPv6 address as the IPv4 client", () => {
    expect(of("::ffff:203.0.113.7")).toBe("v4:203.0.113.7");
    expect(of("::ffff:cb00:7107")).toBe("v4:203.0.113.7");
  });
});
