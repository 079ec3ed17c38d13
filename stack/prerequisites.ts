import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

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

function javaFeatureVersion(java: string): number {
  // The JVM prints its settings on stderr.
  const { stderr } = spawnSync(java, ['-XshowSettings:properties', '-version'], { encoding: 'utf8' });
  const match = /java\.specification\.version = (\d+)/.exec(stderr ?? '');
  return match ? Number(match[1]) : 0;
}

/**
 * A java binary of at least the given feature version: JAVA_HOME, then java on PATH, then the JDKs
 * under /usr/lib/jvm (Apicurio Registry 3.3 needs 21, the rest of the stack runs on 17).
 */
export function requireJava(minimum: number): string {
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  const onPath = commandPath('java');
  if (onPath) candidates.push(onPath);
  if (existsSync('/usr/lib/jvm')) {
    for (const jdk of readdirSync('/usr/lib/jvm').sort().reverse()) candidates.push(join('/usr/lib/jvm', jdk, 'bin', 'java'));
  }
  for (const java of candidates) {
    if (existsSync(java) && javaFeatureVersion(java) >= minimum) return java;
  }
  throw new MissingPrerequisite(`A Java runtime ${minimum} or newer`, `Install a JDK ${minimum}+ (for example Temurin) under /usr/lib/jvm or set JAVA_HOME.`);
}
