import { useNodeConnections, useNodesData } from '@xyflow/react';
import { outputOf, type Output, type PikaNode } from './types';
import { useSyncExternalStore } from 'react';
import { catalog } from '../sql/schema';

/** The output of the node feeding this one's input handle (first connection). */
export function useUpstream(): { id: string | null; node: PikaNode | null; out: Output | null } {
  const conns = useNodeConnections({ handleType: 'target' });
  const id = conns[0]?.source ?? null;
  const data = useNodesData<PikaNode>(id ?? '');
  const node = id && data ? ({ id, type: data.type, data: data.data, position: { x: 0, y: 0 } } as PikaNode) : null;
  return { id, node, out: outputOf(node) };
}

/** Re-renders on catalog changes; returns its version. */
export function useCatalogVersion(): number {
  return useSyncExternalStore(
    (l) => catalog.subscribe(l),
    () => catalog.version,
  );
}
