/** A plain timer: for loops that must not end early (a migration's polls end by cancelling it, not by throwing). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
