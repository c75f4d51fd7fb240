export { expose, wrap, type EndpointOptions } from './endpoint.ts';
export {
  proxy,
  proxyMarker,
  transfer,
  releaseProxy,
  createEndpoint,
  finalizer,
  type ProxyMarked,
} from './codec/marks.ts';
export { transferHandlers, type TransferHandler, type TransferHandlerMap } from './codec/handlers.ts';
export { currentSignal, currentIdentity, type CallOptions } from './rpc/peer.ts';
export { currentCall, type CallContext, type ClientInfo } from './rpc/context.ts';
export { currentDeadline } from './rpc/deadline.ts';
export type { StreamWindow } from './rpc/streams.ts';
export { withOptions } from './rpc/call-options.ts';
export { currentMetadata, type Metadata } from './rpc/metadata.ts';
export { MAX_METADATA_ENTRIES, MAX_METADATA_CHARS } from './protocol.ts';
export type { Middleware, CallContext as MiddlewareContext, CallSide, CallKindName, GovernSettings } from './rpc/govern.ts';
export type { StandardSchema, Schemas } from './rpc/validation.ts';
export type { ClientAuth, ServerAuth } from './transport/auth.ts';
export { Metrics, type MetricsSnapshot, type MethodStats, type SideStats, type LatencyMs } from './metrics/metrics.ts';
export { renderPrometheus } from './metrics/prometheus.ts';
export type { Remote, RemoteObject, RemoteStream, LocalArg, ProxyMethods, Local, LocalObject, ProxyOrClone, UnproxyOrClone } from './rpc/remote.ts';
export type { Endpoint } from './transport/port.ts';
export { listen, type ListenOptions, type Server, type ServerEvents } from './listen.ts';
export { connect, type ConnectOptions, type Connection, type ConnectionEvents, type ReconnectOptions } from './connect.ts';
export { serve, type ServeOptions, type Service } from './services/serve.ts';
export type { ServiceConnectOptions, ServiceConnection, ServiceConnectionEvents } from './services/client.ts';
export type { Registry, Registration, InstanceInfo } from './services/registry.ts';
export { listServices, type ListServicesOptions } from './services/list.ts';
export type { Balancer, Candidate } from './services/balancer.ts';
export type { ServiceInfo } from './services/introspect.ts';
export { createPool, type Pool, type PoolEvents } from './pool/pool.ts';
export type { PoolOptions, PoolIsolation, TaskOptions } from './pool/options.ts';
export type { WorkerExit, WorkerExitReason } from './pool/member.ts';
export type { PoolStats, Percentiles } from './pool/stats.ts';
export { createSyncFn, type SyncFn, type SyncFnOptions } from './pool/sync.ts';
export { spawn, type SpawnOptions, type ChildHandle } from './spawn.ts';
export { startWorker, type StartWorkerOptions } from './start-worker.ts';
export type { SocketAddress, TlsSettings } from './transport/socket.ts';
export type { StreamLimits } from './transport/stream.ts';
export {
  FarcallError,
  ChannelClosedError,
  CallTimeoutError,
  CallAbortedError,
  ProtocolError,
  NoSuchMethodError,
  NotCloneableError,
  ProxyReleasedError,
  QueueFullError,
  ModuleNotFoundError,
  UnsupportedError,
  NoSuchServiceError,
  ValidationError,
  AuthenticationError,
  type ValidationIssue,
  type FarcallErrorCode,
} from './errors.ts';
