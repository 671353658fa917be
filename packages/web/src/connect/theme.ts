import { Alert, type CSSVariablesResolver, createTheme } from '@mantine/core';

// The console's look and contrast rules (src/main.tsx), for the Connect page's own bundle.
export const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 8,
  defaultRadius: 'md',
  respectReducedMotion: true,
  components: {
    Alert: Alert.extend({ styles: { title: { color: 'var(--mantine-color-dark-8)' } } }),
  },
});
export const contrast: CSSVariablesResolver = (t) => ({ variables: {}, light: { '--mantine-color-dimmed': t.colors.gray[7]! }, dark: {} });
