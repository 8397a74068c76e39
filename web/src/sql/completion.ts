// SQL completion from the live catalog: table names, their columns (after
// `table.` only that table's), the columns of tables named in the statement,
// and SQL keywords. Pure over a Schema so it is unit-tested without a server.
import type { CompletionContext, CompletionResult, Completion } from '@codemirror/autocomplete';

export interface Schema {
  tables: string[];
  columns: Record<string, { name: string; type: string }[]>;
}

export const KEYWORDS = [
  'SELECT', 'FROM', 'WHERE', 'GROUP BY', 'ORDER BY', 'LIMIT', 'HAVING', 'JOIN', 'LEFT JOIN', 'ON', 'AS', 'AND', 'OR',
  'NOT', 'IN', 'IS NULL', 'DISTINCT', 'COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'WITH', 'UNION ALL', 'DESC', 'ASC', 'BETWEEN', 'LIKE', 'CAST', 'date_trunc', 'epoch', 'strftime',
];

const quoteIdent = (s: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);

/** Tables mentioned in the text (FROM/JOIN targets and bare words that are table names). */
export function mentionedTables(text: string, schema: Schema): string[] {
  const words = new Set((text.match(/"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*/g) ?? []).map((w) => (w.startsWith('"') ? w.slice(1, -1).replace(/""/g, '"') : w).toLowerCase()));
  return schema.tables.filter((t) => words.has(t.toLowerCase()));
}

export function completeSql(schema: Schema, text: string, pos: number, explicit: boolean): { from: number; options: Completion[] } | null {
  const before = text.slice(0, pos);
  const dotted = /("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\.("?[A-Za-z0-9_]*)$/.exec(before);
  if (dotted) {
    const raw = dotted[1]!;
    const table = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
    const t = schema.tables.find((n) => n.toLowerCase() === table.toLowerCase());
    if (!t) return null;
    return {
      from: pos - dotted[2]!.length,
      options: (schema.columns[t] ?? []).map((c) => ({ label: c.name, apply: quoteIdent(c.name), type: 'property', detail: c.type })),
    };
  }
  const word = /[A-Za-z_][A-Za-z0-9_]*$/.exec(before);
  if (!word && !explicit) return null;
  const from = word ? pos - word[0].length : pos;
  const options: Completion[] = [];
  const seen = new Set<string>();
  for (const t of schema.tables) {
    options.push({ label: t, apply: quoteIdent(t), type: 'class', detail: 'table', boost: 2 });
  }
  const mentioned = mentionedTables(text, schema);
  const colTables = mentioned.length ? mentioned : schema.tables.length <= 3 ? schema.tables : [];
  for (const t of colTables)
    for (const c of schema.columns[t] ?? []) {
      if (seen.has(c.name)) continue;
      seen.add(c.name);
      options.push({ label: c.name, apply: quoteIdent(c.name), type: 'property', detail: `${t} · ${c.type}`, boost: 1 });
    }
  for (const k of KEYWORDS) options.push({ label: k, type: 'keyword', boost: -1 });
  return { from, options };
}

/** A CodeMirror completion source over a schema getter (called per completion). */
export function sqlCompletionSource(getSchema: () => Schema) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const text = ctx.state.doc.toString();
    const r = completeSql(getSchema(), text, ctx.pos, ctx.explicit);
    if (!r) return null;
    return { from: r.from, options: r.options, validFor: /^[A-Za-z0-9_"]*$/ };
  };
}
