/**
 * @module
 * Renders a client page into the server-rendered root (#app), replacing its "Loading…".
 */
import { render, type ComponentChild } from "preact";

export function mount(page: (root: HTMLElement) => ComponentChild): void {
  const root = document.getElementById("app");
  if (!root) throw new Error("no #app root on this page");
  root.textContent = "";
  render(page(root), root);
}
