import { listFormatParser } from './format.js';

/**
 * What a `stats --format` template sees of a sample — docker's names (`.Name` is the id, a task's
 * only name) — and each one's column name in a `table` header.
 */
export const statsColumns = { ID: 'ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', PIDs: 'PIDS' } as const;

/** `stats --format`: `table` (the default: taskio's table), `json`, `table TEMPLATE` or `TEMPLATE` (see {@link listFormatParser}). */
export const parseStatsFormat = listFormatParser(statsColumns, 'table {{.ID}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.PIDs}}');
