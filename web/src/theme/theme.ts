/**
 * Light/dark theme: follows the system (prefers-color-scheme) until the user picks one, which is
 * kept in localStorage and applied as `data-theme` on <html> (theme.css reads it).
 */
import { useCallback, useEffect, useState } from 'react';

export const THEME_STORAGE_KEY = 'chronoverse.theme';
export type Theme = 'light' | 'dark';

export function storedTheme(storage: Storage | undefined = safeStorage()): Theme | null {
  const value = storage?.getItem(THEME_STORAGE_KEY);
  return value === 'light' || value === 'dark' ? value : null;
}

export function systemTheme(): Theme {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches
    ? 'dark'
    : 'light';
}

/** Sets `data-theme` (or removes it to follow the system). Called before the first render too. */
export function applyTheme(theme: Theme | null, root: HTMLElement = document.documentElement): void {
  if (theme) root.dataset.theme = theme;
  else delete root.dataset.theme;
}

function safeStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined; // storage disabled: the theme just is not remembered
  }
}

export function useTheme(): { theme: Theme; setTheme: (theme: Theme) => void; toggle: () => void } {
  const [theme, setThemeState] = useState<Theme>(() => storedTheme() ?? systemTheme());
  useEffect(() => {
    applyTheme(storedTheme());
  }, []);
  const setTheme = useCallback((next: Theme) => {
    safeStorage()?.setItem(THEME_STORAGE_KEY, next);
    applyTheme(next);
    setThemeState(next);
  }, []);
  const toggle = useCallback(() => setTheme(theme === 'dark' ? 'light' : 'dark'), [theme, setTheme]);
  return { theme, setTheme, toggle };
}
