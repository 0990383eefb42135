import fs from 'node:fs';

/**
 * Reads a pid a runtime wrote; 0 when the file is missing, empty or not a pid (the facade treats 0
 * as "not known", never as a process to signal).
 */
export function readPidFile(file: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}
