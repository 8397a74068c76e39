import { describe, expect, it } from 'vitest';
import { EditorState } from '@codemirror/state';
import { CompletionContext } from '@codemirror/autocomplete';
import { completeSql, mentionedTables, sqlCompletionSource, type Schema } from '../src/sql/completion';

const schema: Schema = {
  tables: ['flights', 'weather', 'zip codes'],
  columns: {
    flights: [{ name: 'delay', type: 'INTEGER' }, { name: 'distance', type: 'INTEGER' }, { name: 'origin', type: 'VARCHAR' }],
    weather: [{ name: 'temp_max', type: 'DOUBLE' }, { name: 'date', type: 'DATE' }],
    'zip codes': [{ name: 'zip code', type: 'VARCHAR' }],
  },
};
const labels = (r: ReturnType<typeof completeSql>) => r?.options.map((o) => o.label) ?? [];

describe('SQL completion', () => {
  it('completes tables, keywords and the columns of tables in the statement', () => {
    const text = 'SELECT de FROM flights';
    const r = completeSql(schema, text, 'SELECT de'.length, false)!;
    expect(r.from).toBe(7);
    expect(labels(r)).toContain('delay');
    expect(labels(r)).toContain('flights');
    expect(labels(r)).not.toContain('temp_max');
    expect(labels(r)).toContain('SELECT');
  });
  it('completes the columns of a table after a dot, quoting odd names', () => {
    const r = completeSql(schema, 'SELECT weather.te', 17, false)!;
    expect(labels(r)).toEqual(['temp_max', 'date']);
    expect(r.from).toBe(15);
    const q = completeSql(schema, 'SELECT "zip codes".', 19, false)!;
    expect(q.options[0]!.apply).toBe('"zip code"');
    expect(completeSql(schema, 'SELECT nope.x', 13, false)).toBeNull();
  });
  it('quotes table names that need it and stays quiet without a word unless asked', () => {
    const r = completeSql(schema, 'SELECT * FROM ', 14, true)!;
    expect(r.options.find((o) => o.label === 'zip codes')!.apply).toBe('"zip codes"');
    expect(completeSql(schema, 'SELECT * FROM ', 14, false)).toBeNull();
    expect(mentionedTables('select * from "zip codes" join Weather', schema)).toEqual(['weather', 'zip codes']);
  });
  it('works as a CodeMirror completion source', () => {
    const state = EditorState.create({ doc: 'SELECT di FROM flights' });
    const ctx = new CompletionContext(state, 9, false);
    const r = sqlCompletionSource(() => schema)(ctx)!;
    expect(r.from).toBe(7);
    expect(r.options.some((o) => o.label === 'distance')).toBe(true);
  });
});
