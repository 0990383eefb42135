/**
 * How long a CRI stream must stay quiet, in the middle of a line, before the writer writes the part
 * it holds as a `P` entry. A prompt (`name? `, then a wait for stdin) must reach the log's followers
 * — `attach`, `logs -f` — at once, as docker's attach shows it; conmon writes every read's unfinished
 * tail as a `P` entry at once. Waiting a little keeps a line whole that its producer writes in two
 * quick writes (`printf "a"; printf "b\n"`, or a stdio buffer flushed mid-line), which would
 * otherwise be cut at the read that fell between them. 50 ms is half of what a person notices as a
 * delay (about 100 ms), and well above what a loaded scheduler usually makes a runnable producer
 * wait between two of its writes (a few slices of a few ms): a line is cut when its producer
 * stopped, seldom when it was only preempted. (A reader that came late is no reason: the copy also
 * checks that the pipe is empty.)
 */
export const quietLineMs = 50;

/**
 * The wait of one stream for {@link quietLineMs} of quiet while it holds an unfinished line: armed
 * (again) after each chunk that leaves a line unfinished, cancelled by one that ends it. One timer
 * per stream, refreshed rather than made anew: a stream of long lines arms it on most reads.
 */
export class QuietLine {
  #timer: NodeJS.Timeout | null = null;
  readonly #onQuiet: () => void;

  /** `onQuiet` runs once the stream stayed quiet for {@link quietLineMs} after the last {@link arm}. */
  constructor(onQuiet: () => void) {
    this.#onQuiet = onQuiet;
  }

  /** (Re)starts the wait. */
  arm(): void {
    if (this.#timer) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#onQuiet();
    }, quietLineMs);
    // A held line is no reason to keep a process alive: its source (a pipe, a caller) is.
    this.#timer.unref();
  }

  /** Stops the wait (the line ended, or the stream did). Idempotent. */
  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
