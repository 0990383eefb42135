/** ANSI: erase the whole screen, then move the cursor home (docker stats' `cleanScreen`). */
export const clearScreen = '\x1b[2J\x1b[H';

/** Where a live table is drawn: a stream that may be a terminal. */
export interface LiveTableOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/**
 * A table that redraws in place, as `docker stats` does: on a terminal each frame clears the
 * screen and starts at the top-left; anywhere else (a pipe, a file) the frames follow one another
 * as plain text, without escape codes a reader of the file would have to strip.
 */
export class LiveTable {
  readonly #out: LiveTableOutput;
  readonly #redraw: boolean;

  /** @param out - where to draw (stdout); frames redraw in place only if it is a terminal. */
  constructor(out: LiveTableOutput) {
    this.#out = out;
    this.#redraw = out.isTTY === true;
  }

  /** Draws one frame (a whole table), in a single write so the terminal never shows half of it. */
  draw(frame: string): void {
    this.#out.write(this.#redraw ? clearScreen + frame : frame);
  }
}
