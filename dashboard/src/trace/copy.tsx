/**
 * @module
 * A copy-to-clipboard button. The clipboard API needs a secure context or permission; where it is
 * refused the button says so instead of throwing.
 */
import { useState } from "preact/hooks";

export function CopyButton({ text, label, caption = "Copy" }: { text: string; label: string; caption?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
    setTimeout(() => setState("idle"), 1500);
  };
  return (
    <button type="button" class="tv-copy" aria-label={label} title={label} onClick={copy}>
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : caption}
    </button>
  );
}
