import { sql, type Column, type SQL } from "drizzle-orm";

/**
 * `column IN (values)` with the whole list bound as one JSON parameter. D1 allows 100 bound
 * parameters per statement, so `inArray` breaks past ~99 values (a retention run over many blocks,
 * a batch spanning many minutes); json_each works the same on D1 and libSQL.
 */
export function inList(column: Column, values: readonly (string | number)[]): SQL {
  return sql`${column} in (select value from json_each(${JSON.stringify(values)}))`;
}
