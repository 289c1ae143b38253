import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createQueryClient } from './lib/query-client.ts';
import { applyTheme, storedTheme } from './theme/theme.ts';
import './theme/theme.css';
import './theme/base.css';
import './theme/components.css';

// Before the first paint, so a stored dark theme does not flash light (no inline script: CSP).
applyTheme(storedTheme());

const root = document.getElementById('root');
if (!root) throw new Error('missing #root');
createRoot(root).render(
  <StrictMode>
    <App queryClient={createQueryClient()} />
  </StrictMode>,
);
