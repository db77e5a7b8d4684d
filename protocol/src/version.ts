/** The wire protocol version this build speaks. Carried as `v` in every body and as `v1` in every subject. */
export const PROTOCOL_VERSION = 1 as const;

/**
 * Largest message body any Switchyard process accepts, in bytes. Well under nats-server's default
 * max_payload (1 MiB) so that an oversize body reaches us and gets a typed error instead of being
 * refused by the server with a connection-level error.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;
