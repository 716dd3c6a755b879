import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Which way imports may point (issue 13). shared/ sits below the workers, the dashboard, the
// tests and the benches and imports none of them; production code (shared/, workers/, dashboard/,
// but not a *.test.ts) imports no test code and no test framework. Test builders and suites live
// in test/support/, bench helpers in bench/; a shared/ test may import test/support/.
const UP = String.raw`^(?:\.\./)+`;
const rootFolder = (...names) => `${UP}(?:${names.join("|")})(?:/|$)`;
const TEST_CODE = String.raw`(?:\.test-helpers|test-workload|\.test\.[cm]?tsx?$|\.case\.ts$)`;
const BOUNDARIES = {
  shared: { regex: rootFolder("workers", "dashboard", "test", "bench"), message: "shared/ imports no worker, dashboard, test or bench code." },
  sharedTest: { regex: rootFolder("workers", "dashboard", "bench"), message: "a shared/ test imports no worker, dashboard or bench code." },
  testSupportOnly: { regex: `${UP}test/(?!support/)`, message: "a shared/ test imports test code from test/support/ only." },
  production: { regex: rootFolder("test", "bench"), message: "production code imports no test or bench code." },
  testHelper: { regex: TEST_CODE, message: "production code imports no test helper (they live in test/support/)." },
  testFramework: { regex: "^(?:vitest|cloudflare:test|@cloudflare/vitest-plugin)(?:/|$)", message: "production code imports no test framework." },
};

/** `no-restricted-imports` for static imports and re-exports, `no-restricted-syntax` for `import()` and `import("…")` types. */
function importBoundaries(...boundaries) {
  // esquery reads a regex up to the next "/", escaped or not: spell it \x2F inside.
  const selector = (node, path, regex) => `${node}[${path}=/${regex.replaceAll("/", String.raw`\x2F`)}/]`;
  return {
    "no-restricted-imports": ["error", { patterns: boundaries.map(({ regex, message }) => ({ regex, message })) }],
    "no-restricted-syntax": [
      "error",
      ...boundaries.flatMap(({ regex, message }) => [
        { selector: selector("ImportExpression", "source.value", regex), message },
        { selector: selector("TSImportType", "argument.literal.value", regex), message },
      ]),
    ],
  };
}

const CODE = "**/*.{ts,tsx,mts,cts,js,mjs}";
const TESTS = "**/*.test.{ts,tsx}";

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
    files: [`shared/${CODE}`],
    ignores: [`shared/${TESTS}`],
    rules: importBoundaries(BOUNDARIES.shared, BOUNDARIES.testHelper, BOUNDARIES.testFramework),
  },
  {
    files: [`shared/${TESTS}`],
    rules: importBoundaries(BOUNDARIES.sharedTest, BOUNDARIES.testSupportOnly),
  },
  {
    files: [`workers/${CODE}`, `dashboard/${CODE}`],
    ignores: [TESTS, "dashboard/public/**"],
    rules: importBoundaries(BOUNDARIES.production, BOUNDARIES.testHelper, BOUNDARIES.testFramework),
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
