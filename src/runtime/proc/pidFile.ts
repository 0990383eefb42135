import fs from 'node:fs';

/** Reads the pid a runtime wrote; 0 when the file is missing or empty. */
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
