import { Center, Loader } from '@mantine/core';
import { type ComponentProps, Suspense, lazy } from 'react';

const LineFigureLazy = lazy(() => import('./charts').then((m) => ({ default: m.LineFigure })));
const BarFigureLazy = lazy(() => import('./charts').then((m) => ({ default: m.BarFigure })));
const wait = <Center h={280}><Loader size="sm" aria-label="Loading chart" /></Center>;

/** The charts, fetched on first use: the figures around them show before recharts arrives. */
export const LineFigure = (p: ComponentProps<typeof LineFigureLazy>) => <Suspense fallback={wait}><LineFigureLazy {...p} /></Suspense>;
export const BarFigure = (p: ComponentProps<typeof BarFigureLazy>) => <Suspense fallback={wait}><BarFigureLazy {...p} /></Suspense>;
