/**
 * A workflow's labels as chips (`team=data`). With `onSelect`, each chip is a button that narrows
 * the list to that label (the overview); without, plain text (the detail page links instead).
 */
import { Link } from 'react-router';
import type { Labels } from '../../../src/domain/labels.ts';

export function LabelChips({
  labels,
  onSelect,
  linkTo,
}: {
  labels: Labels;
  onSelect?: (requirement: string) => void;
  /** A page listing the workflows with this label: `(requirement) => url`. */
  linkTo?: (requirement: string) => string;
}) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="chips" aria-label="Labels">
      {entries.map(([key, value]) => {
        const requirement = `${key}=${value}`;
        return (
          <li key={key}>
            {onSelect ? (
              <button
                type="button"
                className="chip"
                onClick={() => onSelect(requirement)}
                aria-label={`Show only workflows labelled ${requirement}`}
              >
                {requirement}
              </button>
            ) : linkTo ? (
              <Link className="chip" to={linkTo(requirement)}>
                {requirement}
              </Link>
            ) : (
              <span className="chip">{requirement}</span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/**
 * `selector` with `requirement` added (a label selector is comma-separated requirements, all of
 * which must hold); unchanged when it is there already.
 */
export function withRequirement(selector: string, requirement: string): string {
  const parts = selector
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return parts.includes(requirement) ? parts.join(',') : [...parts, requirement].join(',');
}
