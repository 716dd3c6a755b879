// @ts-check
// Edgetrace dashboard behaviour. Loaded as a file (the CSP allows no inline script); the pages
// work without it, this adds copy buttons, the theme switch and the first-run refresh.
"use strict";

(function theme() {
  const saved = localStorage.getItem("edgetrace-theme");
  if (saved === "light" || saved === "dark") document.documentElement.dataset.theme = saved;
  document.addEventListener("click", (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    if (!target.closest("[data-theme-toggle]")) return;
    const dark = document.documentElement.dataset.theme ? document.documentElement.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("edgetrace-theme", next);
  });
})();

document.addEventListener("click", async (e) => {
  const button = /** @type {HTMLElement} */ (e.target).closest("[data-copy]");
  if (!(button instanceof HTMLButtonElement)) return;
  const field = document.getElementById(button.dataset.copy ?? "");
  if (!(field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement)) return;
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    // Clipboard API refused (plain http, permissions): select the text for a manual copy.
    field.select();
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = label), 1500);
});

// First run: poll the project's status until a span is stored, then show the data.
document.addEventListener("DOMContentLoaded", () => {
  const section = document.querySelector("[data-first-run]");
  if (!(section instanceof HTMLElement)) return;
  const url = section.dataset.firstRun ?? "";
  const status = section.querySelector("[data-first-run-status]");
  const poll = async () => {
    try {
      const res = await fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" });
      if (res.ok) {
        const body = await res.json();
        if (body.spans > 0) {
          if (status) status.textContent = "Your first spans arrived. Loading…";
          // A GET of the overview: a reload of a page a form post answered would post the form again.
          location.assign(section.dataset.firstRunNext ?? location.href);
          return;
        }
      }
    } catch {
      // Offline for a moment: try again on the next tick.
    }
    setTimeout(poll, 3000);
  };
  setTimeout(poll, 3000);
});
