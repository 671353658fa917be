/** Thrown when the operator presses Ctrl-C at a prompt (exit 130, like a shell). */
export class PromptInterrupted extends Error {
  override name = 'PromptInterrupted';
}

/**
 * Reads a secret: on a terminal without echoing it (the prompt goes to stderr, so stdout stays the
 * command's output), from a pipe the first line of stdin (`echo "$PW" | keyhold admin create …`).
 */
export function readSecret(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return input.isTTY ? readFromTerminal(prompt, input, output) : readFirstLine(input);
}

/** Collects everything up to the first newline or end of input, then lets stdin go. */
function readFirstLine(input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const finish = () => {
      input.off('data', onData);
      input.off('end', finish);
      input.off('error', onError);
      input.pause();
      resolve(buffered.split(/\r?\n/, 1)[0] ?? '');
    };
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      if (buffered.includes('\n')) finish();
    };
    const onError = (err: Error) => reject(err);
    input.on('data', onData);
    input.once('end', finish);
    input.once('error', onError);
    input.resume();
  });
}

/** Raw mode: nothing is echoed; Enter ends, Backspace deletes, Ctrl-C/Ctrl-D abort. */
function readFromTerminal(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  // Echo goes off before the prompt shows: whatever is typed once it is visible stays hidden.
  input.setRawMode(true);
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new PromptInterrupted('interrupted'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
