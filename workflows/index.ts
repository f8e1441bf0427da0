export { smokeMigration } from './smoke.js';
export { trial } from './trial.js';
