import type { Kafka, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from '../../core/kafkajs.ts';

const NAME = 'ShardlineUnits';

/**
 * Round robin over the units topic's partitions by member id (as KafkaJS's own), with each member's
 * instance name in its subscription, so that `status` can say which instance reads which unit.
 */
export function unitAssigner(instance: string, units: number): PartitionAssigner {
  return () => ({
    name: NAME,
    version: 0,
    async assign({ members, topics }) {
      const memberIds = members.map(({ memberId }) => memberId).sort();
      const [topic] = topics;
      return memberIds.map((memberId, index) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment:
            topic === undefined
              ? {}
              : {
                  [topic]: Array.from({ length: units }, (_, unit) => unit).filter(
                    (unit) => unit % memberIds.length === index,
                  ),
                },
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 0,
          topics,
          userData: Buffer.from(instance, 'utf8'),
        }),
      };
    },
  });
}

export interface UnitOwner {
  instance: string;
  units: number[];
}

/** Which instance reads which units, as the group's coordinator has it now (empty while it rebalances). */
export async function unitOwners(kafka: Kafka, groupId: string, topic: string): Promise<UnitOwner[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (!group || group.state !== 'Stable') return [];
    return group.members.map(({ memberId, memberMetadata, memberAssignment }) => ({
      instance: AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData.toString('utf8') || memberId,
      units: [...(AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment[topic] ?? [])].sort(
        (a, b) => a - b,
      ),
    }));
  } finally {
    await admin.disconnect();
  }
}
