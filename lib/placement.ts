export { Placement } from './placement/Placement';
export { PlacementChain } from './placement/PlacementChain';
export { PLACED_PAR } from './par/PlacedPar';
export { BackendRegistry } from './placement/BackendRegistry';
export { ExecutionBackend } from './backends/ExecutionBackend';
export { LocalBackend } from './backends/LocalBackend';
