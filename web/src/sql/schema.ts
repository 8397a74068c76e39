// The catalog as the SQL editor and the plot encodings see it: table list
// from GET /api/tables (refreshed on WebSocket `catalog` events), columns
// fetched per table on demand and cached until the catalog changes.
import { api } from '../api/client';
import type { Column, TableInfo } from '../api/types';
import type { Schema } from './completion';

type Listener = () => void;

class Catalog {
  tables: TableInfo[] = [];
  version = 0;
  private columns = new Map<string, Column[]>();
  private pending = new Map<string, Promise<Column[]>>();
  private listeners = new Set<Listener>();
  error: string | null = null;

  async refresh(): Promise<void> {
    try {
      this.tables = await api.tables();
      this.columns.clear();
      this.pending.clear();
      this.error = null;
      this.version++;
      for (const t of this.tables.slice(0, 20)) void this.columnsOf(t.name);
    } catch (e) {
      this.error = String(e);
    }
    this.emit();
  }

  columnsOf(table: string): Promise<Column[]> {
    const have = this.columns.get(table);
    if (have) return Promise.resolve(have);
    let p = this.pending.get(table);
    if (!p) {
      p = api.table(table).then((d) => {
        const cols = d.columns.map((c) => ({ name: c.name, type: c.type }));
        this.columns.set(table, cols);
        this.emit();
        return cols;
      });
      this.pending.set(table, p);
    }
    return p;
  }

  schema(): Schema {
    const columns: Schema['columns'] = {};
    for (const [t, c] of this.columns) columns[t] = c;
    return { tables: this.tables.map((t) => t.name), columns };
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  private emit() {
    for (const l of this.listeners) l();
  }
}

export const catalog = new Catalog();
