// piscina's task module for the bench (loaded only when piscina is installed).
// CommonJS, because piscina require()s its task file first, and in the
// source tree only require() goes through tsx inside piscina's threads.
import piscina = require('piscina');

export = {
  ping(): void {},
  echo<T>(value: T): T {
    return value;
  },
  echoMoved(buf: ArrayBuffer): unknown {
    return piscina.move(buf);
  },
};
