import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireCommand } from './prerequisites.ts';

/**
 * Runs `work` into `dir` unless `dir` already holds the result for the same inputs. Maven's and pip's
 * own caches make the first run on a machine the only one that downloads.
 */
export function provisionOnce(dir: string, inputs: string[], work: (dir: string) => void): void {
  const fingerprint = createHash('sha256').update(inputs.join('\0')).digest('hex');
  const marker = join(dir, '.provisioned');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === fingerprint) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  work(dir);
  writeFileSync(marker, fingerprint);
}

/** The mvn binary: the stack takes its jars from Maven Central. */
export const requireMaven = (): string =>
  requireCommand('mvn', 'Install Maven (Debian: apt-get install maven); the stack takes its jars from Maven Central.');

/** Copies the dependencies a POM declares (with their transitive ones) into `libDir`. */
export function mavenDependencies(pomPath: string, libDir: string): void {
  const mvn = requireMaven();
  provisionOnce(libDir, [readFileSync(pomPath, 'utf8')], (dir) => {
    execFileSync(mvn, ['-q', '-B', '-f', pomPath, 'dependency:copy-dependencies', `-DoutputDirectory=${dir}`], {
      stdio: 'inherit',
    });
  });
}

/** Fetches one artifact (group:artifact:version:type[:classifier]) from Maven Central into `dir`. */
export function mavenArtifact(coordinates: string, dir: string, unpack: (file: string, dir: string) => void): void {
  const mvn = requireMaven();
  provisionOnce(dir, [coordinates], (target) => {
    const downloads = join(target, 'download');
    execFileSync(mvn, ['-q', '-B', 'dependency:copy', `-Dartifact=${coordinates}`, `-DoutputDirectory=${downloads}`], {
      stdio: 'inherit',
    });
    const [, artifact, version, type, classifier] = coordinates.split(':');
    const file = join(downloads, `${artifact}-${version}${classifier ? `-${classifier}` : ''}.${type}`);
    unpack(file, target);
    rmSync(downloads, { recursive: true, force: true });
  });
}
