import { useTheme } from './theme.ts';

/** A switch between light and dark; remembered across visits. */
export function ThemeToggle() {
  const { theme, toggle } = useTheme();
  const dark = theme === 'dark';
  return (
    <button type="button" className="btn btn-ghost" role="switch" aria-checked={dark} onClick={toggle}>
      <span aria-hidden="true">{dark ? '☾' : '☀'}</span> Dark theme
    </button>
  );
}
