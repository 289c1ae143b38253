import { ApiError, errorMessage } from '../api/client.ts';

/** A readable error box (role="alert"), for errors not tied to one field. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const heading = title ?? (error instanceof ApiError ? error.title : 'Something went wrong');
  const detail = errorMessage(error);
  return (
    <div role="alert" className="error-message">
      <strong>{heading}</strong>
      {detail && detail !== heading ? <p>{detail}</p> : null}
    </div>
  );
}
