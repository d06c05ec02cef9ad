// Addresses of hosts: their type and how they are named in maps and messages. Runs on every
// side. Imports nothing, so that code naming an address (handles, in every child) does not
// load the socket layer (link.ts: crypto, net, the codec) just to print one.

/** Where a host listens: a unix socket path, or a TCP host and port. */
export type Address = string | { host: string; port: number };

/** One string per address, for maps of hosts and clients. */
export function addressKey(address: Address): string {
  return typeof address === 'string' ? `unix:${address}` : `tcp:${address.host}:${address.port}`;
}

/** Human-readable form of an address, for messages: the path, or `host:port`. */
export function formatAddress(address: Address): string {
  return typeof address === 'string' ? address : `${address.host}:${address.port}`;
}
