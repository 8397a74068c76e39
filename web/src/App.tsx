import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  ReactFlow, ReactFlowProvider, Background, Controls, MiniMap, addEdge, applyNodeChanges, applyEdgeChanges,
  useReactFlow, type Connection, type NodeChange, type EdgeChange, type Viewport,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api } from './api/client';
import { events } from './api/ws';
import { catalog } from './sql/schema';
import { TableNode } from './nodes/TableNode';
import { QueryNode } from './nodes/QueryNode';
import { PlotNode } from './nodes/PlotNode';
import { ExportNode } from './nodes/ExportNode';
import { canConnect, defaultSpec, type PikaEdge, type PikaNode, type NodeKind } from './nodes/types';
import { Autosaver, nextIdAfter, parse, serialize } from './workspace/doc';
import { DataPanel, TABLE_MIME } from './ui/DataPanel';
import { StatusBar } from './ui/StatusBar';
import { ImportDialog } from './ui/ImportDialog';

const nodeTypes = { table: TableNode, query: QueryNode, plot: PlotNode, export: ExportNode };

const SIZES: Record<NodeKind, { width?: number; height?: number }> = {
  table: {},
  query: { width: 520, height: 380 },
  plot: { width: 620, height: 460 },
  export: {},
};

function Canvas() {
  const rf = useReactFlow<PikaNode, PikaEdge>();
  const [nodes, setNodes] = useState<PikaNode[]>([]);
  const [edges, setEdges] = useState<PikaEdge[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [camera, setCamera] = useState<Viewport>({ x: 0, y: 0, zoom: 1 });
  const [drop, setDrop] = useState<File | null>(null);
  const [jobs, setJobs] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState<string | null>(null);
  const nextId = useRef(1);
  const saver = useMemo(
    () => new Autosaver(async (doc) => {
      const r = await api.saveWorkspace(doc);
      setSaved(new Date(r.saved_at || Date.now()).toLocaleTimeString());
    }),
    [],
  );

  // load the workspace, the catalog and the event stream
  useEffect(() => {
    events.start();
    void catalog.refresh();
    const off = events.on((e) => {
      if (e.type === 'catalog' || (e.type === 'hello' && e.catalog_version !== catalog.version)) void catalog.refresh();
      if (e.type === 'job') {
        const text =
          e.state === 'running'
            ? `${e.kind} ${e.table}: ${e.percent.toFixed(0)}% · ${e.rows.toLocaleString('en-US')} rows`
            : e.state === 'done'
              ? `${e.kind} ${e.table}: done, ${e.rows.toLocaleString('en-US')} rows${e.rejects ? `, ${e.rejects} rejected` : ''}`
              : `${e.kind} ${e.table}: ${e.message ?? 'failed'}`;
        setJobs((j) => ({ ...j, [e.job]: text }));
        if (e.state !== 'running') void catalog.refresh();
      }
    });
    api
      .workspace()
      .then((w) => {
        const doc = parse(w.doc);
        if (doc) {
          nextId.current = nextIdAfter(doc.nodes);
          setNodes(doc.nodes);
          setEdges(doc.edges);
          setCamera(doc.camera);
          rf.setViewport(doc.camera);
          saver.lastSaved = JSON.stringify(serialize(doc.nodes, doc.edges, doc.camera));
        }
      })
      .catch(() => {})
      .finally(() => setLoaded(true));
    return off;
  }, [rf, saver]);

  // autosave (debounced) whenever the document changes
  useEffect(() => {
    if (loaded) saver.schedule(serialize(nodes, edges, camera));
  }, [nodes, edges, camera, loaded, saver]);

  const onNodesChange = useCallback((c: NodeChange<PikaNode>[]) => setNodes((n) => applyNodeChanges(c, n)), []);
  const onEdgesChange = useCallback((c: EdgeChange<PikaEdge>[]) => setEdges((e) => applyEdgeChanges(c, e)), []);
  const kindOf = useCallback((id: string) => rf.getNode(id)?.type as NodeKind | undefined, [rf]);
  const isValid = useCallback((c: Connection | PikaEdge) => c.source !== c.target && canConnect(kindOf(c.source), kindOf(c.target)), [kindOf]);
  const onConnect = useCallback(
    // one input per node: a new connection replaces the old one
    (c: Connection) => setEdges((e) => addEdge({ ...c, id: `e-${c.source}-${c.target}`, animated: false }, e.filter((x) => x.target !== c.target))),
    [],
  );

  const add = useCallback((kind: NodeKind, position?: { x: number; y: number }, data?: Record<string, unknown>, from?: string) => {
    const id = `n${nextId.current++}`;
    const pos = position ?? rf.screenToFlowPosition({ x: window.innerWidth / 2 - 100, y: window.innerHeight / 3 });
    const base = {
      table: { table: '' },
      query: { sql: '', ran: null },
      plot: { spec: defaultSpec(), view: null },
      export: { format: 'png', width: 1000, height: 600, dpi: 100 },
    }[kind];
    const node = { id, type: kind, position: pos, ...SIZES[kind], selected: true, data: { ...base, ...data } } as PikaNode;
    setNodes((n) => [...n.map((m) => ({ ...m, selected: false })), node]);
    if (from) setEdges((e) => [...e, { id: `e-${from}-${id}`, source: from, target: id }]);
    // bring the new node into view (its size is known for sized kinds)
    const w = SIZES[kind].width ?? 300, h = SIZES[kind].height ?? 200;
    const zoom = rf.getZoom();
    const b = document.querySelector('.flow')?.getBoundingClientRect();
    const tl = b ? rf.screenToFlowPosition({ x: b.left, y: b.top }) : null;
    const br = b ? rf.screenToFlowPosition({ x: b.right, y: b.bottom }) : null;
    if (tl && br && (pos.x < tl.x || pos.y < tl.y || pos.x + w > br.x || pos.y + h > br.y))
      void rf.setCenter(pos.x + w / 2 - (br.x - tl.x) / 4, pos.y + h / 2, { zoom, duration: 0 });
    return id;
  }, [rf]);

  // add a downstream node next to the selected one, connected to it
  const addConnected = (kind: NodeKind) => {
    const sel = nodes.find((n) => n.selected);
    if (sel && canConnect(sel.type, kind)) {
      add(kind, { x: sel.position.x + (sel.width ?? sel.measured?.width ?? 300) + 80, y: sel.position.y }, undefined, sel.id);
    } else add(kind);
  };

  const onDragOver = (e: React.DragEvent) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    const table = e.dataTransfer.getData(TABLE_MIME);
    if (table) {
      add('table', rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }), { table });
      return;
    }
    const f = e.dataTransfer.files[0];
    if (f) setDrop(f);
  };

  return (
    <div className="app" onDragOver={onDragOver} onDrop={onDrop}>
      <div className="toolbar">
        <strong>Pika</strong>
        <button data-testid="add-query" onClick={() => addConnected('query')}>+ Query</button>
        <button data-testid="add-plot" onClick={() => addConnected('plot')}>+ Plot</button>
        <button data-testid="add-export" onClick={() => addConnected('export')}>+ Export</button>
        <label className="upload">
          Import file…
          <input type="file" data-testid="file-input" onChange={(e) => e.target.files?.[0] && setDrop(e.target.files[0])} />
        </label>
        <span className="muted small">drag tables onto the canvas · connect table → query → plot → export · shift-drag a plot to box-zoom</span>
      </div>
      <div className="main">
        <DataPanel
          onAdd={(t) => add('table', undefined, { table: t })}
          jobs={Object.entries(jobs).map(([id, text]) => ({ id, text })).reverse()}
        />
        <div className="flow" data-testid="canvas">
          <ReactFlow<PikaNode, PikaEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            isValidConnection={isValid}
            onMoveEnd={(_, v) => setCamera(v)}
            defaultViewport={camera}
            minZoom={0.1}
            maxZoom={2.5}
            deleteKeyCode={['Delete', 'Backspace']}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={20} />
            <Controls />
            <MiniMap pannable zoomable />
          </ReactFlow>
        </div>
      </div>
      <StatusBar saved={saved} />
      {drop ? (
        <ImportDialog
          file={drop}
          onClose={() => setDrop(null)}
          onStarted={(job, table) => setJobs((j) => ({ ...j, [job]: `import ${table}: queued` }))}
        />
      ) : null}
    </div>
  );
}

export function App() {
  return (
    <ReactFlowProvider>
      <Canvas />
    </ReactFlowProvider>
  );
}
