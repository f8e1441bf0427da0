export { smokeMigration } from './smoke.js';
export { trial } from './trial.js';
export { campaign } from './campaign.js';
