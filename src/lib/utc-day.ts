// Days and months as the spend budget counts them: UTC, as `YYYY-MM-DD` text (which sorts as time).

/** The UTC day of `ms`, as `YYYY-MM-DD`. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The first UTC day of the month of `ms`, as `YYYY-MM-01`. */
export const utcMonthStart = (ms: number): string => `${new Date(ms).toISOString().slice(0, 7)}-01`;
