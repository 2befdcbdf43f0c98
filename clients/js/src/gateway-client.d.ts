// Type declarations of websocket-api-gateway-client (src/gateway-client.js).

/** Any frame the gateway sends, parsed. */
export interface Frame {
  type?: string;
  id?: unknown;
  [member: string]: unknown;
}

/** A topic event: `{"type", "channel", "data", "offset"?, "from"?}`. */
export interface TopicEvent<T = unknown> {
  type: string;
  channel: string;
  data: T;
  /** Where the topic keeps history: increasing, not always consecutive. */
  offset?: number;
  /** Set when a client published the event. */
  from?: { connectionId: string; userId: string | null };
}

/** A recovery position: the last offset received and the epoch of that history. */
export interface Position {
  offset: number;
  epoch: string;
}

export interface PresenceMember {
  connectionId: string;
  userId: string | null;
  info: unknown;
}

/** A `join` or `leave` frame. */
export interface PresenceChange {
  type: 'join' | 'leave';
  channel: string;
  member: PresenceMember;
}

export interface PresenceAnswer extends Frame {
  type: 'presence';
  channel: string;
  members: PresenceMember[];
  count: number;
  full: boolean;
}

export interface HistoryAnswer extends Frame {
  type: 'history';
  channel: string;
  epoch: string;
  offset: number;
  recovered: boolean;
  events: TopicEvent[];
  complete: boolean;
}

export interface ConnectedInfo {
  connectionId: string | null;
  /** True when the session was resumed (same connection id, subscriptions kept). */
  resumed: boolean;
  /** The connected or resumed frame, with any members `$connect` added (such as `connector_run_id`). */
  frame: Frame;
}

export interface DisconnectedInfo {
  code: number;
  reason: string;
  wasClean: boolean;
  /** Whether the client will connect again. */
  willRetry: boolean;
  /** Milliseconds until it does, when it will. */
  delay?: number | null;
}

export interface ResumedInfo {
  connectionId: string | null;
  /** Frames the server kept while the socket was down; they follow, in order. */
  missed: number;
  frame: Frame;
}

export interface RecoveredInfo {
  channel: string;
  /** False when the history no longer reached back (or the topic keeps none): the application should reload its state. */
  recovered: boolean;
  subscription: Subscription;
  frame: Frame;
}

export interface ReconnectOptions {
  /** Default true. */
  enabled?: boolean;
  /** Delay of the first retry after a connection was lost, in ms. Default 0. */
  firstDelay?: number;
  /** Upper bound of the second retry's delay; each later retry multiplies it by `factor`, up to `maxDelay`. Default 500. */
  baseDelay?: number;
  /** Default 30000. */
  maxDelay?: number;
  /** Default 2. */
  factor?: number;
  /** Retries before giving up (the count restarts once a connection has stayed up `stableAfter` ms). Default Infinity. */
  maxAttempts?: number;
  /** Default 5000. */
  stableAfter?: number;
  /** Whether to reconnect after this close; default: any code but 1000. */
  shouldReconnect?: (info: { code: number; reason: string; wasClean: boolean }) => boolean;
}

export interface RefreshOptions {
  /** Default true (only when getToken() gives a JWT with `exp`). */
  enabled?: boolean;
  /** How long before the token's `exp` the in-band refresh is sent, in ms. Default 30000. */
  leadTime?: number;
  /** Wait before trying again after a failed refresh, in ms. Default 5000. */
  retryDelay?: number;
}

export interface GatewayClientOptions {
  /** A WebSocket constructor: the global one by default (browsers, Node 22); on Node 20 pass the `ws` package's. */
  WebSocket?: unknown;
  /** Called before every connection attempt: the token to connect with (a JWT, or any credential the gateway reads from the query). */
  getToken?: () => string | undefined | null | Promise<string | undefined | null>;
  /** Where the token goes: `?token=` (default) or the `bearer` subprotocol. */
  tokenTransport?: 'query' | 'subprotocol';
  /** Query parameter of the token. Default `token`. */
  tokenParam?: string;
  /** More subprotocols to offer. */
  protocols?: string[];
  /** How commands are named: `{"action":"subscribe",…}` (default) or `{"type":"subscribe","data":{…}}`. */
  naming?: 'action' | 'type';
  /** Route keys of the built-in commands when the gateway renamed them. */
  routes?: Partial<Record<'subscribe' | 'unsubscribe' | 'ping' | 'presence' | 'refresh' | 'publish' | 'history', string>>;
  /** Timeout of each request, from when it is sent, in ms. Default 10000. */
  requestTimeout?: number;
  /** Time for a socket to open and its first frame to come, in ms. Default 10000. */
  connectTimeout?: number;
  /** Messages kept while disconnected; past it a send throws and a request rejects with `queue_full`. Default 1000. */
  queueSize?: number;
  /** Resume the session when the server gives a resume token. Default true. */
  resume?: boolean;
  /** Wait for the connected frame before the connection counts as open. Default true; false for a gateway with `SendConnectedMessage: false`. */
  connectedFrame?: boolean;
  /** Connect on construction. Default true. */
  connect?: boolean;
  reconnect?: ReconnectOptions | false;
  refresh?: RefreshOptions | false;
  /** Sends `ping` every `interval` ms (0: off, the default) and drops the socket, to resume, when no `pong` comes within `timeout`. */
  heartbeat?: { interval?: number; timeout?: number };
  /**
   * `auto` (default): a WebSocket, and the gateway's Server-Sent Events stream when the WebSocket cannot open (and when
   * there is no WebSocket constructor); `websocket` or `sse`: that one only.
   */
  transport?: 'auto' | 'websocket' | 'sse';
  /** After a fallback to the stream, a reconnect this many ms later tries the WebSocket first again. Default 300000. */
  webSocketRetryAfter?: number;
  /** An EventSource constructor for the stream: the global one by default (browsers); `null` reads the stream with fetch (as on Node 20). */
  EventSource?: unknown;
  /** The fetch for the stream's posts (and its reading without an EventSource). Default the global one. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** In ms; default the client's `requestTimeout`. */
  timeout?: number;
}

export interface ClientEvents {
  connected: ConnectedInfo;
  disconnected: DisconnectedInfo;
  resumed: ResumedInfo;
  recovered: RecoveredInfo;
  /** Every topic event, once, in order (those of subscriptions and those of subscriptions the server made). */
  event: TopicEvent;
  /** Any other frame: pushes, broadcasts, text that is not JSON (a string), binary frames (an ArrayBuffer or Buffer). */
  message: Frame | string | ArrayBuffer;
  refreshed: { expiresAt?: string; frame: Frame };
  state: ClientState;
  error: GatewayError | Error;
}

export interface SubscriptionEvents {
  event: TopicEvent;
  join: PresenceChange;
  leave: PresenceChange;
  recovered: RecoveredInfo;
  error: GatewayError;
}

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

declare class Emitter<E> {
  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(type: K, listener: (value: E[K]) => void): () => void;
  off<K extends keyof E>(type: K, listener: (value: E[K]) => void): void;
  once<K extends keyof E>(type: K, listener: (value: E[K]) => void): () => void;
}

/** An error the gateway answered (`code`: `invalid_request`, `unauthorized`, `subscription_failed`, `internal_error`, a publish refusal's reason, `resume_failed`) or one of the client's (`timeout`, `queue_full`, `closed`, `connection_lost`, `token`). */
export class GatewayError extends Error {
  constructor(code: string, message?: string, frame?: Frame);
  readonly code: string;
  /** The frame that carried the error, when there was one. */
  readonly frame?: Frame;
}

export class Subscription<T = unknown> extends Emitter<SubscriptionEvents> implements AsyncIterable<TopicEvent<T>> {
  readonly channel: string;
  /** Confirmed by the server on the current connection. */
  readonly active: boolean;
  readonly closed: boolean;
  /** Resolves with the first `subscribed` answer; rejects with the GatewayError of a refusal. */
  readonly ready: Promise<Frame>;
  /** The last offset received and its epoch, for a topic with history. */
  readonly position: Position | null;
  unsubscribe(): Promise<Frame | null>;
  presence(options?: RequestOptions): Promise<PresenceAnswer>;
  [Symbol.asyncIterator](): AsyncIterator<TopicEvent<T>>;
}

/** A streamed answer of a connector-envelope route: the text chunks as they come. */
export class ChunkStream implements AsyncIterableIterator<string> {
  /** The `ack` frame, once it came. */
  readonly ack: Frame | null;
  /** The end: `stream_end`'s `full_response` and `token_usage` (or a plain `response`). Rejects on an error frame or the timeout. */
  readonly result: Promise<{ fullResponse: string; tokenUsage: unknown; frame: Frame }>;
  next(): Promise<IteratorResult<string>>;
  return(): Promise<IteratorResult<string>>;
  [Symbol.asyncIterator](): AsyncIterableIterator<string>;
}

export class GatewayClient extends Emitter<ClientEvents> {
  constructor(url: string | URL, options?: GatewayClientOptions);
  readonly state: ClientState;
  /** The transport of the current (or next) connection: `websocket`, or `sse` for the Server-Sent Events fallback. */
  readonly transport: 'websocket' | 'sse';
  /** The current connection's id (the same after a resume). */
  readonly connectionId: string | null;
  /** The newest resume token. */
  readonly resumeToken: string | null;
  readonly connectedFrame: Frame | null;
  /** Messages waiting for a connection. */
  readonly queued: number;
  readonly subscriptions: Map<string, Subscription>;
  /** Resolves at the first connected frame; rejects when the client is closed or gives up first. */
  connect(): Promise<ConnectedInfo>;
  /** Closes for good: no reconnect, the server ends the session. */
  close(code?: number, reason?: string): void;
  /** Drops the socket and connects again at once, resuming the session (close code 4000–4099). */
  reconnect(code?: number, reason?: string): void;
  /** Fire and forget, to a route; queued while disconnected; throws GatewayError `queue_full`. */
  send(action: string, payload?: Record<string, unknown>): void;
  /** Sends text, bytes, or an object as JSON, as it is. */
  sendRaw(data: string | ArrayBuffer | ArrayBufferView | object): void;
  /** Sends with an `id`; resolves with the frame that answers it. */
  request<R extends Frame = Frame>(action: string, payload?: Record<string, unknown>, options?: RequestOptions): Promise<R>;
  /** A connector-envelope route's streamed answer. */
  stream(action: string, payload?: Record<string, unknown>, options?: RequestOptions): ChunkStream;
  subscribe<T = unknown>(channel: string, options?: { since?: Position }): Subscription<T>;
  ping(options?: RequestOptions): Promise<Frame>;
  presence(channel: string, options?: RequestOptions): Promise<PresenceAnswer>;
  publish(channel: string, type: string, data: unknown, options?: RequestOptions): Promise<Frame>;
  history(channel: string, options?: RequestOptions & { since?: Position; limit?: number }): Promise<HistoryAnswer>;
  /** Sends the in-band refresh now with a token from getToken(). */
  refreshToken(options?: RequestOptions): Promise<Frame>;
}

/** Whether a topic matches a pattern (`*` one segment, `>` the rest). */
export function topicMatches(pattern: string, topic: string): boolean;

/** A JWT's `exp` in ms since the epoch. */
export function tokenExpiry(token: string | null | undefined): number | undefined;

export default GatewayClient;

/** The event-stream URL of a gateway's WebSocket URL: `ws://host/prod` → `http://host/prod/sse`. */
export function sseUrl(url: string | URL): URL;
