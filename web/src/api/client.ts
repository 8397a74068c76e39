// Thin fetch wrappers over the HTTP API (docs/PROTOCOL.md). Auth is the
// HttpOnly cookie the server set on the ?token= redirect: same-origin
// requests carry it; the token itself is never seen or stored here.
import type {
  ExportRequest, ImportPreview, ImportRequest, PlotRequest, QueryAnswer, ResultsAnswer,
  TableDetail, TableInfo, WorkspaceAnswer, StatusBody,
} from './types';
import { decodePkpl, type PlotModel } from './pkpl';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly line: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function failure(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status;
  let message = res.statusText || 'request failed';
  let line: number | null = null;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; line?: number } };
    if (body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      line = typeof body.error.line === 'number' ? body.error.line : null;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, code, message, line);
}

/** This page's id: sent with every request and on the WebSocket, so that
 * the server stops this page's queries and plots when it goes away. */
export const CLIENT_ID = (() => {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return 'c-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
})();

async function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const init: RequestInit = { method, credentials: 'same-origin', signal };
  const headers: Record<string, string> = { 'X-Pika-Client': CLIENT_ID };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  init.headers = headers;
  const res = await fetch(path, init);
  if (!res.ok) throw await failure(res);
  return res;
}

async function json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  return (await (await call(method, path, body, signal)).json()) as T;
}

let requestCounter = 0;
export function newRequestId(): string {
  requestCounter += 1;
  return `r-${Date.now().toString(36)}-${requestCounter}`;
}

export const api = {
  tables: () => json<{ tables: TableInfo[] }>('GET', '/api/tables').then((r) => r.tables),
  table: (name: string) => json<TableDetail>('GET', '/api/tables/' + encodeURIComponent(name)),
  status: () => json<StatusBody>('GET', '/api/status'),
  query: (sql: string, request: string, limit = 200, signal?: AbortSignal) =>
    json<QueryAnswer>('POST', '/api/query', { sql, request, limit }, signal),
  results: (result: string, offset: number, limit: number, signal?: AbortSignal) =>
    json<ResultsAnswer>(
      'GET',
      `/api/results/${encodeURIComponent(result)}?offset=${offset}&limit=${limit}`,
      undefined,
      signal,
    ),
  cancel: (request: string) => json<{ cancelled: boolean }>('POST', '/api/cancel', { request }),
  async plot(req: PlotRequest, signal?: AbortSignal): Promise<PlotModel> {
    const res = await call('POST', '/api/plot', req, signal);
    return decodePkpl(await res.arrayBuffer());
  },
  async upload(file: File): Promise<{ path: string }> {
    const res = await fetch('/api/upload?name=' + encodeURIComponent(file.name), {
      method: 'POST',
      credentials: 'same-origin',
      body: file,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (!res.ok) throw await failure(res);
    return (await res.json()) as { path: string };
  },
  importPreview: (path: string) => json<ImportPreview>('POST', '/api/import/preview', { path }),
  importStart: (req: ImportRequest) => json<{ job: string }>('POST', '/api/import', req),
  async exportFile(req: ExportRequest): Promise<{ blob: Blob; filename: string }> {
    const res = await call('POST', '/api/export', req);
    const cd = res.headers.get('Content-Disposition') ?? '';
    const m = /filename="?([^";]+)"?/.exec(cd);
    return { blob: await res.blob(), filename: m?.[1] ?? `pika-export.${req.format}` };
  },
  workspace: () => json<WorkspaceAnswer>('GET', '/api/workspace'),
  saveWorkspace: (doc: unknown) => json<{ saved_at: string }>('PUT', '/api/workspace', { doc }),
};
