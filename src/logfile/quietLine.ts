/**
 * How long a CRI stream must stay quiet, in the middle of a line, before the writer writes the part
 * it holds as a `P` entry. A prompt (`name? `, then a wait for stdin) must reach the log's followers
 * — `attach`, `logs -f` — at once, as docker's attach shows it; conmon writes every read's unfinished
 * tail as a `P` entry at once. Waiting a little keeps a line whole that its producer writes in two
 * quick writes (`printf "a"; printf "b\n"`, microseconds apart), which would otherwise be split at
 * the read that fell between them; 20 ms is far below what a person notices (about 100 ms) and far
 * above the gap between two writes of a running producer.
 */
export const quietLineMs = 20;

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
