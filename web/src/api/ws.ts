// The one WebSocket (/api/ws): hello, status every second, job progress and
// catalog changes. Reconnects with backoff; listeners get every event.
import type { WsEvent } from './types';
import { CLIENT_ID } from './client';

type Listener = (e: WsEvent) => void;

export class EventSocket {
  private ws: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private retry = 500;
  private closed = false;
  connected = false;

  start(): void {
    if (this.ws || this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const ws = new WebSocket(proto + location.host + '/api/ws?client=' + CLIENT_ID);
    this.ws = ws;
    ws.onopen = () => {
      this.connected = true;
      this.retry = 500;
    };
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return;
      let e: WsEvent;
      try {
        e = JSON.parse(m.data) as WsEvent;
      } catch {
        return;
      }
      for (const l of this.listeners) l(e);
    };
    ws.onclose = () => {
      this.connected = false;
      this.ws = null;
      if (!this.closed) setTimeout(() => this.start(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    };
  }

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  stop(): void {
    this.closed = true;
    this.ws?.close();
  }
}

export const events = new EventSocket();
