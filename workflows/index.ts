export { smokeMigration } from './smoke.js';
