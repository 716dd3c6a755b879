import { defineConfig } from "drizzle-kit";

// drizzle-kit writes SQL migrations from the schema; wrangler applies them to D1 (migrations_dir).
export default defineConfig({
  dialect: "sqlite",
  schema: "./shared/db/schema.ts",
  out: "./migrations",
});
