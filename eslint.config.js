import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "**/.wrangler/", "dist/", "coverage/", "test/artifacts/", "dashboard/public/static/ui/", "**/worker-configuration.d.ts", ".scratch*/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { console: "readonly", process: "readonly", fetch: "readonly", URL: "readonly", setTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", crypto: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
    },
  },
  {
    // The dashboard's client pages (Preact, bundled by scripts/build-ui.mjs).
    files: ["dashboard/src/**/*.{ts,tsx}"],
    languageOptions: {
      globals: { window: "readonly", document: "readonly", navigator: "readonly", location: "readonly", history: "readonly", localStorage: "readonly", matchMedia: "readonly", requestAnimationFrame: "readonly", cancelAnimationFrame: "readonly", ResizeObserver: "readonly", Blob: "readonly", FileReader: "readonly", HTMLElement: "readonly", performance: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly" },
    },
  },
  {
    // The dashboard's browser script.
    files: ["dashboard/public/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: { window: "readonly", document: "readonly", navigator: "readonly", location: "readonly", localStorage: "readonly", matchMedia: "readonly", HTMLElement: "readonly", HTMLButtonElement: "readonly", HTMLInputElement: "readonly", HTMLTextAreaElement: "readonly", fetch: "readonly", setTimeout: "readonly" },
    },
  },
);
