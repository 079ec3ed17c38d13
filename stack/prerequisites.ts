import { execFileSync } from 'node:child_process';

/** The error a missing prerequisite raises: it says what is missing and how to get it. */
export class MissingPrerequisite extends Error {
  constructor(what: string, hint: string) {
    super(`${what} is missing. ${hint}`);
    this.name = 'MissingPrerequisite';
  }
}

export function commandPath(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function requireCommand(command: string, hint: string): string {
  const path = commandPath(command);
  if (!path) throw new MissingPrerequisite(`The command '${command}'`, hint);
  return path;
}
