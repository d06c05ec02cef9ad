// Listener / Client connections: the messages of a framed, authenticated socket link
// (src/remote/link.ts) between two peers, as a typed union; their byte layout is in
// src/remote/codec.ts. Runs on every side.
//
// The link, its framing and its handshake are the ones a proxy and a host use; what differs
// is what travels once it is open: no calls and replies, only what each end sends, in order.
// `value` carries one value packed as a queue item (src/queue/packing.ts: tree form or
// structured clone, handles encoded), so a Connection's send() has the same rules whether it
// crosses a Pipe or a socket; `bytes` carries sendBytes() data as it is. A host receiving one
// of these (or a peer receiving a host message) closes the link: it is not a message of its
// protocol.

export type ConnectionMessage =
  | {
      /** One value sent with send(): a packed queue item (u32 length, then the value). */
      type: 'value';
      data: Buffer;
    }
  | {
      /** sendBytes() data, delivered as it is. */
      type: 'bytes';
      data: Buffer;
    };
