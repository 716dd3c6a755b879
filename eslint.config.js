import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".wrangler/", "dist/", "coverage/", "test/artifacts/", "**/worker-configuration.d.ts", ".scratch*/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { console: "readonly", process: "readonly", fetch: "readonly", URL: "readonly", setTimeout: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", crypto: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
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
