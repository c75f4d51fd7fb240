// Turns farcall's tracing channels into OpenTelemetry spans, in whatever
// thread or process imports it. The trace context travels in each call's
// metadata as a W3C `traceparent`; inside a served function the server span
// is current, so the calls it makes are its children.
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type SpanContext } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { MiddlewareContext } from 'farcall';

/** A finished span as plain data, so it can cross to whoever prints the trace. */
export interface SpanRecord {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  where: string;
}

export function installTracing(where: string): { spans(): SpanRecord[] } {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('farcall-example');
  const current = new AsyncLocalStorage<Span>();
  const spans = new WeakMap<MiddlewareContext, Span>();

  const startSpan = (ctx: MiddlewareContext, kind: SpanKind, parent: SpanContext | undefined): Span => {
    const parentContext = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const span = tracer.startSpan(`${ctx.side} ${ctx.method}`, { kind, attributes: { 'rpc.system': 'farcall', 'rpc.method': ctx.method, 'farcall.transport': ctx.transport } }, parentContext);
    spans.set(ctx, span);
    return span;
  };
  const finish = {
    asyncEnd: (ctx: object) => spans.get(ctx as MiddlewareContext)?.end(),
    error: (ctx: object) => {
      const span = spans.get(ctx as MiddlewareContext);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: String((ctx as { error?: unknown }).error) });
    },
  };

  const client = diagnosticsChannel.tracingChannel('farcall:client:call');
  client.subscribe({
    start(message) {
      const ctx = message as MiddlewareContext;
      const span = startSpan(ctx, SpanKind.CLIENT, current.getStore()?.spanContext());
      const { traceId, spanId } = span.spanContext();
      // Metadata a start subscriber adds on the client side is sent with the call.
      ctx.metadata.traceparent = `00-${traceId}-${spanId}-01`;
    },
    end() {},
    asyncStart() {},
    ...finish,
  });

  const server = diagnosticsChannel.tracingChannel('farcall:server:call');
  // bindStore runs before the served function, so the span it returns is current inside it.
  server.start.bindStore(current, (message) => {
    const ctx = message as MiddlewareContext;
    return startSpan(ctx, SpanKind.SERVER, parseTraceparent(ctx.metadata.traceparent));
  });
  server.subscribe({ start() {}, end() {}, asyncStart() {}, ...finish });

  return {
    spans: () =>
      exporter.getFinishedSpans().map((s) => ({
        name: s.name,
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        where,
      })),
  };
}

function parseTraceparent(header: string | undefined): SpanContext | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header ?? '');
  return m ? { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true } : undefined;
}
