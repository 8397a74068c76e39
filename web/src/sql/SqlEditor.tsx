// CodeMirror 6 SQL editor: highlighting, catalog completion, Ctrl/Cmd-Enter
// to run, and the line DuckDB named in an error marked.
import { useEffect, useRef } from 'react';
import { EditorView, keymap, lineNumbers, Decoration, type DecorationSet } from '@codemirror/view';
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, completionKeymap } from '@codemirror/autocomplete';
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from '@codemirror/language';
import { sql, PostgreSQL } from '@codemirror/lang-sql';
import { sqlCompletionSource } from './completion';
import { catalog } from './schema';

const setErrorLine = StateEffect.define<number | null>();
const errorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects)
      if (e.is(setErrorLine)) {
        const n = e.value;
        if (n === null || n < 1 || n > tr.state.doc.lines) deco = Decoration.none;
        else deco = Decoration.set([Decoration.line({ class: 'cm-error-line' }).range(tr.state.doc.line(n).from)]);
      }
    if (tr.docChanged) deco = Decoration.none;
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

interface Props { value: string; onChange: (v: string) => void; onRun: () => void; errorLine: number | null }

export function SqlEditor({ value, onChange, onRun, errorLine }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const cbs = useRef({ onChange, onRun });
  cbs.current = { onChange, onRun };

  useEffect(() => {
    const lang = sql({ dialect: PostgreSQL, upperCaseKeywords: true });
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          bracketMatching(),
          lang,
          syntaxHighlighting(defaultHighlightStyle),
          autocompletion({ override: [sqlCompletionSource(() => catalog.schema())] }),
          keymap.of([
            { key: 'Mod-Enter', run: () => (cbs.current.onRun(), true) },
            { key: 'Shift-Enter', run: () => (cbs.current.onRun(), true) },
            ...completionKeymap,
            ...defaultKeymap,
            ...historyKeymap,
          ]),
          errorField,
          EditorView.updateListener.of((u) => {
            if (u.docChanged) cbs.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: setErrorLine.of(errorLine) });
  }, [errorLine]);

  return <div ref={host} className="sql-editor nodrag nowheel" data-testid="sql-editor" />;
}
