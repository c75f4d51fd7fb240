// Serves `records(path)`: the parsed lines of a CSV file, one record at a time, as they are read.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { expose } from 'farcall';

export interface Sale {
  id: number;
  city: string;
  amount: number;
}

let parsed = 0;
let closed = false;

export const api = {
  /** An async generator: the caller gets an async iterator; when it stops, the finally below runs. */
  async *records(path: string): AsyncGenerator<Sale> {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        const [id, city, amount] = line.split(',');
        parsed++;
        yield { id: Number(id), city: city!, amount: Number(amount) };
      }
    } finally {
      lines.close();
      closed = true;
    }
  },
  /** How far the worker got, and whether its reader was closed. */
  progress: () => ({ parsed, closed }),
};

expose(api);
