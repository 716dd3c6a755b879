import { defineConfig } from "vitest/config";

// One vitest project per runtime: pure modules in Node, each worker in workerd with real local
// bindings (see test/<worker>/vitest.config.ts), and end-to-end tests against `npm start`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          environment: "node",
          include: ["shared/**/*.test.ts", "test/unit/**/*.test.ts"],
        },
      },
    ],
  },
});
