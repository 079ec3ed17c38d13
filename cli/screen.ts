/**
 * A screen redrawn in place, like `top`, on a terminal: each frame overwrites the last (cursor home, each
 * line cleared to its end, the rest below cleared). Anywhere else (a pipe, a log file) each frame is
 * printed after the previous one, so the output stays readable as plain periodic lines.
 */
export class LiveScreen {
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    readonly tty = Boolean(out.isTTY),
  ) {}

  draw(lines: string[]): void {
    if (!this.tty) {
      this.out.write(`${lines.join('\n')}\n\n`);
      return;
    }
    // First frame: clear the screen and hide the cursor; later frames overwrite in place without flicker.
    const start = this.drawn ? '\x1b[H' : '\x1b[2J\x1b[H\x1b[?25l';
    this.drawn = true;
    const width = this.out.columns ?? 200;
    this.out.write(`${start}${lines.map((line) => `${line.slice(0, width)}\x1b[K`).join('\n')}\n\x1b[J`);
  }

  /** Shows the cursor again; the last frame stays on screen. */
  close(): void {
    if (this.tty && this.drawn) this.out.write('\x1b[?25h');
  }
}
