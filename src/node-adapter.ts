/**
 * comlink's Node adapter, for code that imports it: `nodeEndpoint(port)`
 * turns an emitter-style Worker, MessagePort or parentPort into an
 * EventTarget-style endpoint. farcall takes those directly, so the adapter
 * is only needed by code written for comlink; given to `wrap()` or
 * `expose()`, it is seen through to the port beneath, so a worker's exit
 * and errors still reject pending calls.
 */
import type { Endpoint } from './transport/port.ts';

/** comlink's NodeEndpoint: what `nodeEndpoint()` adapts. */
export interface NodeEndpoint {
  postMessage(message: any, transfer?: any[]): void;
  on(type: string, listener: (value: any) => void): void;
  off(type: string, listener: (value: any) => void): void;
  start?: () => void;
}

type Listener = ((ev: { data: unknown }) => void) | { handleEvent(ev: { data: unknown }): void };

const beneath = new WeakMap<object, NodeEndpoint>();

/** The port an adapter made by nodeEndpoint() stands for, if `ep` is one. */
export function adaptedPort(ep: object): NodeEndpoint | undefined {
  return beneath.get(ep);
}

export function nodeEndpoint(nep: NodeEndpoint): Endpoint {
  const listeners = new WeakMap<Listener, (data: unknown) => void>();
  const ep: Endpoint = {
    postMessage: (message, transfer) => nep.postMessage(message, transfer as any[] | undefined),
    addEventListener: (_type, listener: Listener) => {
      const l = (data: unknown): void => {
        if (typeof listener === 'function') listener({ data });
        else listener.handleEvent({ data });
      };
      nep.on('message', l);
      listeners.set(listener, l);
    },
    removeEventListener: (_type, listener: Listener) => {
      const l = listeners.get(listener);
      if (!l) return;
      nep.off('message', l);
      listeners.delete(listener);
    },
    ...(nep.start ? { start: () => nep.start!() } : {}),
  };
  beneath.set(ep, nep);
  return ep;
}

export default nodeEndpoint;
