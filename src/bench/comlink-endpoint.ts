import type { MessagePort, Worker } from 'node:worker_threads';

type Listener = (event: { data: unknown }) => void;
type ListenerObject = { handleEvent: Listener };

/** comlink's Node adapter (comlink/dist/esm/node-adapter.mjs), as a typed local copy. */
export function nodeEndpoint(nep: Worker | MessagePort) {
  const listeners = new WeakMap<object, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: readonly unknown[]) => nep.postMessage(message, transfer as never),
    addEventListener: (_: string, eh: Listener | ListenerObject) => {
      const l = (data: unknown): void => ('handleEvent' in eh ? eh.handleEvent({ data }) : eh({ data }));
      nep.on('message', l);
      listeners.set(eh, l);
    },
    removeEventListener: (_: string, eh: Listener | ListenerObject) => {
      const l = listeners.get(eh);
      if (!l) return;
      nep.off('message', l);
      listeners.delete(eh);
    },
  };
}
