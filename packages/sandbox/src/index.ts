export { createSandbox, type Sandbox } from './server.js';
export { unleashedSignature } from './unleashed.js';
