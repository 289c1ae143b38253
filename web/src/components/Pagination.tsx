/**
 * Cursor pagination: the API gives the next page's cursor; the previous pages' cursors are kept in
 * a stack so "Previous" goes back exactly.
 */
import { useCallback, useState } from 'react';
import { Button } from './Button.tsx';

export interface CursorPager {
  /** The cursor of the page shown (undefined: the first page). */
  cursor: string | undefined;
  page: number;
  next: (cursor: string) => void;
  previous: () => void;
  reset: () => void;
}

export function useCursorPager(): CursorPager {
  const [stack, setStack] = useState<string[]>([]);
  const next = useCallback((cursor: string) => setStack((s) => [...s, cursor]), []);
  const previous = useCallback(() => setStack((s) => s.slice(0, -1)), []);
  const reset = useCallback(() => setStack([]), []);
  return { cursor: stack.at(-1), page: stack.length + 1, next, previous, reset };
}

export function Pagination({
  pager,
  nextCursor,
  label = 'Pagination',
}: {
  pager: CursorPager;
  nextCursor: string | null | undefined;
  label?: string;
}) {
  return (
    <nav className="pagination" aria-label={label}>
      <Button onClick={pager.previous} disabled={pager.page === 1}>
        Previous
      </Button>
      <span aria-live="polite">Page {pager.page}</span>
      <Button onClick={() => nextCursor && pager.next(nextCursor)} disabled={!nextCursor}>
        Next
      </Button>
    </nav>
  );
}
