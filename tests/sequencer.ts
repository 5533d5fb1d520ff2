/**
 * File order for `npm test`: vitest's own order (slowest and failed first), except that the cluster
 * project's files run last. The cluster profile is brought up by its first file and stopped when the
 * run ends (tests/cluster/global-setup.ts), so it never shares the two cores with the rest of the suite.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export default class ClusterLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const cluster = (f: TestSpecification): boolean => f.project.name === 'cluster';
    return [...sorted.filter((f) => !cluster(f)), ...sorted.filter(cluster)];
  }
}
