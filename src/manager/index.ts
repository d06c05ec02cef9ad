// The manager's public names, re-exported by src/index.ts. No logic.

export { BaseManager, Manager } from './manager.ts';
export type { Address, BaseManagerOptions, RegisterOptions, StartOptions } from './manager.ts';
export { ManagerServer } from './server.ts';
export type { ManagerStats } from './server.ts';
export { ArrayProxy, BaseProxy, DictProxy, ListProxy, NamespaceProxy, ObjectProxy, SequenceProxy, ValueProxy } from './proxy.ts';
export type { DictKey, ListSortOptions, MethodProxy, SliceBound } from './proxy.ts';
