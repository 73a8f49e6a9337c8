/** pg_type lookups for the type mapping (type-mapping.ts): the rows of non-builtin types, with composite fields. */
import type { Engine } from '../engine/engine';
import { unknownOids, type PgTypeRow } from './type-mapping';

/** The pg_type rows of these columns' types and of every type they contain. The caller holds the engine. */
export async function lookupTypes(engine: Engine, cols: { typeOid: number }[]): Promise<Map<number, PgTypeRow>> {
  const types = new Map<number, PgTypeRow>();
  let pending = unknownOids(cols.map((c) => c.typeOid));
  while (pending.length > 0) {
    const rows = await engine.query(
      `SELECT oid::int8::text, typname::text, typelem::int8::text, typtype::text, typbasetype::int8::text, typcategory::text, typrelid::int8::text
       FROM pg_type WHERE oid = ANY($1::oid[])`,
      [`{${pending.join(',')}}`],
    );
    const next: number[] = [];
    for (const r of rows) {
      const t: PgTypeRow = { oid: Number(r[0]), name: r[1]!, elem: Number(r[2]), typtype: r[3]!, basetype: Number(r[4]), category: r[5]! };
      if (t.typtype === 'c' && r[6] !== '0') {
        // a composite type's fields (a record in Materialize)
        const attrs = await engine.query(
          `SELECT attname::text, atttypid::int8::text, atttypmod::text FROM pg_attribute
           WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
          [r[6]],
        );
        t.fields = attrs.map(([name, oid, typmod]) => ({ name: name!, oid: Number(oid), typmod: Number(typmod) }));
        for (const f of t.fields) if (!types.has(f.oid)) next.push(f.oid);
      }
      types.set(t.oid, t);
      for (const o of [t.elem, t.basetype]) if (o && !types.has(o)) next.push(o);
    }
    pending = unknownOids(next).filter((o) => !types.has(o));
  }
  return types;
}
