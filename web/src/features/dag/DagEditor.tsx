/**
 * The definition of a DAG workflow as text (YAML or JSON), its problems as the server's validator
 * reports them (run in the browser by the form: same paths, same words), each with the line it
 * points at, and a preview of the graph the text describes (drawn even while the text has
 * problems, as far as it can be read).
 */
import { useDeferredValue, useMemo } from 'react';
import type { FieldIssue } from '../../api/client.ts';
import { TextAreaField } from '../../components/Field.tsx';
import { DagGraph } from './DagGraph.tsx';
import { lineText, linesOfPaths, parseDefinition } from './definition-text.ts';
import { layoutDag } from './layout.ts';

const PLACEHOLDER = `tasks:
  - name: fetch
    kind: HEARTBEAT
    payload: { endpoint: "https://example.com/health" }
  - name: report
    kind: CONTAINER
    depends_on: [fetch]
    payload: { image: "alpine:3.20", cmd: [echo, done] }`;

export interface DagEditorProps {
  text: string;
  onChange: (text: string) => void;
  onBlur?: () => void;
  /** Issues under `payload` (paths such as `payload.tasks.2.depends`). */
  issues: readonly FieldIssue[];
}

/** `payload.tasks.2.depends` → `tasks[2].depends`: how the text itself spells the place. */
export function describePath(path: string): string {
  const rest = path === 'payload' ? '' : path.replace(/^payload\./, '');
  return rest.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

export function DagEditor({ text, onChange, onBlur, issues }: DagEditorProps) {
  // The preview and line lookups follow the text a beat behind typing in a large definition.
  const deferred = useDeferredValue(text);
  const layout = useMemo(() => {
    const parsed = parseDefinition(deferred);
    return parsed.ok ? layoutDag(parsed.value) : null;
  }, [deferred]);
  const placed = useMemo(() => {
    const lines =
      issues.length === 0
        ? []
        : linesOfPaths(
            text,
            issues.map((i) => i.path),
          );
    return issues.map((issue, k) => {
      const line = issue.path === 'payload' ? null : (lines[k] ?? null);
      return { issue, line, context: line === null ? '' : lineText(text, line).trim() };
    });
  }, [issues, text]);
  const count = issues.length;
  return (
    <fieldset className="dag-editor">
      <legend>Tasks</legend>
      <TextAreaField
        label="Definition (YAML or JSON)"
        value={text}
        placeholder={PLACEHOLDER}
        onChange={(e) => onChange(e.target.value)}
        onBlur={onBlur}
        spellCheck={false}
        rows={18}
        description="{ tasks: [{ name, kind: HEARTBEAT | CONTAINER, payload, depends_on | depends, retry, timeout_seconds, for_each, max_parallel }], finally?, max_parallel? } — docs/api.md has the details."
        error={
          count === 0
            ? null
            : `${count} ${count === 1 ? 'problem' : 'problems'} in the definition, listed below.`
        }
      />
      {count > 0 ? (
        <ul className="dag-issues error-message" aria-label="Problems in the definition">
          {placed.map(({ issue, line, context }) => (
            <li key={`${issue.path}:${issue.message}`}>
              <code>{describePath(issue.path) || 'definition'}</code>
              {line !== null ? ` (line ${line})` : ''}: {issue.message}
              {context ? (
                <>
                  {' '}
                  — <code>{context}</code>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {layout && layout.nodes.length > 0 ? (
        <>
          <h3>Preview</h3>
          <DagGraph layout={layout} label={`Preview of the definition's ${layout.nodes.length} tasks.`} />
        </>
      ) : null}
    </fieldset>
  );
}
