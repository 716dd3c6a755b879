/**
 * @module
 * A steady colour per service name (the same service is the same hue on every row and reload).
 */

/** FNV-1a over the name's UTF-16 units, folded to a hue. */
export function serviceHue(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 360;
}

/** Style for a service chip: a tinted fill and a stronger edge, readable on light and dark. */
export function serviceChipStyle(name: string): Record<string, string> {
  const hue = serviceHue(name);
  return { "--chip-hue": String(hue) };
}
