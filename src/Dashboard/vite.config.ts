import { defineConfig } from 'vitest/config';

// Served by the Dashboard function under /dashboard/, so every asset URL starts there. No inline scripts or
// styles (the page's Content-Security-Policy allows 'self' only), and no module-preload polyfill to inline.
export default defineConfig({
  base: '/dashboard/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // The contrast test reads styles.css as text (?raw); Vitest otherwise stubs every CSS file as empty.
    css: { include: [/styles\.css/] },
  },
});
