// What fixtures-setup.ts (Node) provides to the ingest tests (workerd) through vitest's inject().
import type { TraceBatch } from "../../shared/model/span.ts";

declare module "vitest" {
  export interface ProvidedContext {
    otlpFixtures: Record<string, string>;
    otlpFixtureBatches: Record<string, TraceBatch>;
  }
}
