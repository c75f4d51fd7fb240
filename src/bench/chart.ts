import type { Results } from './matrix.ts';
export function chart(_r: Results): string {
  return '<svg xmlns="http://www.w3.org/2000/svg"/>';
}
